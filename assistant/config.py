"""All settings of the assistant, in one pydantic-settings object.

Built once at the edge (CLI, UI, benchmarks) and passed down; nothing else reads the
environment. Every field is an `ASSISTANT_*` variable and may also come from `.env`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant.errors import InputError

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "paper-digest"


class Settings(BaseSettings):
    """Everything a user can configure. See `.env.example` for the same list with comments."""

    model_config = SettingsConfigDict(
        env_prefix="ASSISTANT_", env_file=".env", extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    # --- storage ---------------------------------------------------------------------
    data_dir: Path = Field(
        DEFAULT_DATA_DIR,
        description="Where the embedded Chroma store, the paper table, indexes and caches live.",
    )
    collection: str = Field("papers", description="Chroma collection holding the paper chunks.")
    chroma_host: str | None = Field(
        None, description="Host of a Chroma server (`chroma run`); unset = embedded store in data_dir."
    )
    chroma_port: int = Field(8000, ge=1, le=65535, description="Port of the Chroma server when chroma_host is set.")

    # --- embeddings ------------------------------------------------------------------
    embedding_backend: Literal["local", "openai"] = Field(
        "local", description="`local`: packaged all-MiniLM-L6-v2 (offline); `openai`: an OpenAI-compatible endpoint."
    )
    embedding_base_url: str | None = Field(None, description="Base URL of the embeddings endpoint (backend `openai`).")
    embedding_model: str = Field(
        "text-embedding-3-small", description="Embedding model name at the endpoint (backend `openai`)."
    )
    embedding_api_key: SecretStr | None = Field(None, description="API key of the embeddings endpoint.")
    embedding_batch_size: int = Field(32, ge=1, description="Texts embedded per batch during ingest.")
    embedding_bulk: Literal["auto", "torch", "onnx"] = Field(
        "auto",
        description="Engine for bulk ingest with the local model: `torch` (faster, needs the `bulk` extra), "
        "`onnx` (int8, no torch), `auto` = torch when installed. Query time always uses ONNX.",
    )

    # --- chat model ------------------------------------------------------------------
    llm_backend: Literal["embedded", "openai"] = Field(
        "embedded", description="`embedded`: packaged local model; `openai`: any OpenAI-compatible endpoint."
    )
    llm_base_url: str | None = Field(
        None, description="Base URL of the OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 (Ollama)."
    )
    llm_model: str | None = Field(None, description="Model name at the endpoint (backend `openai`).")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("ASSISTANT_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="API key of the endpoint; falls back to OPENAI_API_KEY.",
    )
    overrule_declines: Literal["auto", "always", "never"] = Field(
        "auto",
        description="When the model declines (\"not in the papers\") on evidence the app judges answering, may the app "
        "answer in its place by quoting the best paper (when its relevance reaches the calibrated quote bar)? `auto`: "
        "only for the packaged model (llm_backend `embedded`), which declines about half of answerable questions; an "
        "OpenAI-compatible endpoint's decline is respected (a capable model declines honestly, and overruling it "
        "answers out-of-corpus and absent-detail questions), and such a model judges the evidence itself: it is asked "
        "from the relevance model's lower `ask` bar, where the app alone would refuse. `always` / `never` force either.",
    )
    llm_timeout: float = Field(120.0, gt=0, description="Seconds before a model request is abandoned.")
    llm_max_retries: int = Field(2, ge=0, description="Retries on connection errors, 429 and 5xx (with backoff).")
    llm_temperature: float = Field(0.0, ge=0, description="Sampling temperature of answers.")
    llm_max_tokens: int = Field(320, ge=16, description="Upper bound on tokens per model answer.")
    llm_context_size: int = Field(4096, ge=512, description="Context window of the embedded model (tokens).")
    llm_threads: int = Field(0, ge=0, description="CPU threads of the embedded model; 0 = all cores.")
    model_cache_dir: Path | None = Field(
        None, description="Where the assembled local model file is cached; default data_dir/models."
    )

    # --- retrieval -------------------------------------------------------------------
    top_k: int = Field(
        3, ge=1, le=20,
        description="Papers retrieved per question and shown as evidence; only those that answer go into the prompt.",
    )
    evidence_sentences: int = Field(
        3, ge=1, le=20,
        description="Sentences per answering paper in the prompt: its answering sentence and neighbours, in text order.",
    )
    fusion: Literal["convex", "rrf"] = Field(
        "convex",
        description="Hybrid fusion: `convex` = bm25_weight x BM25/best BM25 + (1 - bm25_weight) x cosine (tuned "
        "default); `rrf` = weighted reciprocal rank fusion with rrf_k.",
    )
    bm25_weight: float = Field(
        0.3, ge=0, le=1, description="Weight of the keyword (BM25) side in hybrid fusion (tuned on SciFact train)."
    )
    rrf_k: int = Field(20, ge=1, description="Rank offset of reciprocal rank fusion (fusion `rrf` only).")
    candidates: int = Field(100, ge=10, description="Candidates taken from each retriever before fusion.")
    smooth_weight: float = Field(
        0.3, ge=0, le=1,
        description="Hybrid search: each of the best `smooth_pool` papers' score moves this far towards the mean "
        "score of its `smooth_neighbours` most similar papers among them (paper vectors) when that lifts it, so a "
        "relevant paper whose own words miss the query is lifted by the relevant papers it resembles; 0 = off. "
        "Calibrated with "
        "smooth_neighbours and smooth_pool on the answer cases' dev split and SciFact train "
        "(`benchmarks/fit_smoothing.py`, grid in benchmarks/results/smoothing.md).",
    )
    smooth_neighbours: int = Field(3, ge=1, description="Neighbours whose scores smooth a paper's (see smooth_weight).")
    smooth_pool: int = Field(50, ge=2, description="How many of the best fused papers are smoothed (see smooth_weight).")
    mmr_lambda: float = Field(
        0.7, ge=0, le=1, description="Relevance vs novelty of diverse search (MMR); 1 = plain relevance order."
    )
    exact_dense_limit: int = Field(
        500,
        ge=0,
        description="Date-filtered searches whose papers have at most this many chunks (about two weeks of daily "
        "lists) score every chunk exactly, read by id; larger ones over-fetch from the vector index.",
    )
    max_chunk_fetch: int = Field(
        5000, ge=100, description="Upper bound on chunks fetched from the vector index per filtered search."
    )

    # --- sources ---------------------------------------------------------------------
    hf_api_base: str = Field(
        "https://huggingface.co/api", description="Base URL of the Hugging Face API used by `assistant fetch`."
    )
    arxiv_api_base: str = Field(
        "https://export.arxiv.org/api",
        description="Base URL of the arXiv API used by `assistant fetch --arxiv` (requests go to `{base}/query`).",
    )
    arxiv_delay: float = Field(
        3.0, ge=0, description="Seconds between arXiv API requests (arXiv asks for at least 3; tests use 0)."
    )
    arxiv_page_size: int = Field(200, ge=1, le=2000, description="Entries per arXiv API request (pagination).")
    fetch_timeout: float = Field(
        30.0,
        gt=0,
        description="Seconds one fetch request may take in total (connect, headers and the whole body; not per "
        "read), then it is abandoned and retried.",
    )
    fetch_max_bytes: int = Field(
        10_000_000,
        ge=1000,
        description="Largest response body a fetch accepts, in bytes; a longer one is cut off and that day "
        "reported as failed (a day of the HF list is about 100 KB).",
    )
    fetch_retries: int = Field(3, ge=0, description="Retries per fetch request on 429, 5xx and timeouts.")
    fetch_backoff: float = Field(
        1.0, ge=0, description="First retry delay in seconds, doubled each retry (a 429's Retry-After wins)."
    )
    fetch_max_wait: float = Field(
        120.0, ge=0, description="Longest single wait honoured (Retry-After or backoff); longer = give up for now."
    )
    read_after_ingest: Literal["background", "wait", "off"] = Field(
        "background",
        description="After an ingest that changed papers, embed their titles and abstract sentences for questions "
        "(`assistant.reading`): `background` = in a separate low-priority process (ingest returns at once), "
        "`wait` = before ingest returns, `off` = only when a question needs them.",
    )
    write_lock_timeout: float = Field(
        600.0,
        ge=0,
        description="Seconds a writer (ingest, reindex, fetch) waits for another writer on the same data dir "
        "before giving up; 0 = give up at once.",
    )

    # --- personal feed delivery (assistant digest --for-me --mail) -------------------------------
    smtp_host: str | None = Field(None, description="SMTP server that sends `--mail` digests (e.g. smtp.example.org).")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 = submission with STARTTLS).")
    smtp_user: str | None = Field(None, description="SMTP login name; no login when unset.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password; sent to the server only, never logged.")
    smtp_from: str | None = Field(None, description="Sender address of digests (default: the SMTP user).")
    smtp_starttls: bool = Field(True, description="Upgrade the connection with STARTTLS (turn off only for a local relay).")
    smtp_timeout: float = Field(30.0, gt=0, description="Seconds before the SMTP server is given up on.")

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir_on_a_disk(cls, value: Any) -> Any:
        """An empty value would silently mean the current directory; /proc or /sys would fail as "disk full"."""
        if isinstance(value, str) and not value.strip():
            raise ValueError("is empty: unset it for the default (~/.local/share/paper-digest) or give a directory")
        path = Path(value).expanduser() if isinstance(value, (str, Path)) else None
        existing = next((p for p in (path, *path.parents) if p.exists()), None) if path else None
        if existing is not None:
            try:
                blocks = os.statvfs(existing).f_blocks
            except OSError:
                blocks = 1
            if blocks == 0:
                raise ValueError(
                    "is on a virtual file system with no disk behind it (like /proc or /sys): "
                    "choose a directory on a disk"
                )
        return value

    @field_validator("llm_base_url", "embedding_base_url", "hf_api_base", "arxiv_api_base")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        """Keys go in the *_API_KEY settings: credentials in a URL would be logged and sent as Basic auth."""
        if value is None or not value.strip():
            return value
        parts = urlsplit(value.strip())
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                "contains a user name or password: remove 'user:password@' and put the key in "
                "ASSISTANT_LLM_API_KEY (or ASSISTANT_EMBEDDING_API_KEY)"
            )
        if parts.query or parts.fragment or value.strip().endswith(("?", "#")):
            raise ValueError(
                "has a query string or fragment ('?...', '#...'): request paths are appended to the base URL, "
                "so remove it; a key goes in ASSISTANT_LLM_API_KEY (or ASSISTANT_EMBEDDING_API_KEY)"
            )
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("is not an http(s) URL: expected something like http://127.0.0.1:11434/v1")
        try:
            parts.port  # noqa: B018 - raises for a port that is not a number in 0-65535
        except ValueError:
            raise ValueError("has an invalid port: expected a number from 1 to 65535") from None
        if parts.port == 0:
            raise ValueError("has an invalid port: expected a number from 1 to 65535")
        return value

    @property
    def models_dir(self) -> Path:
        return self.model_cache_dir or (self.data_dir / "models")

    @property
    def store_mode(self) -> str:
        return "server" if self.chroma_host else "embedded"

    @property
    def overrules_declines(self) -> bool:
        """`overrule_declines` resolved for the back end (`auto`: only the packaged model's declines)."""
        return self.overrule_declines == "always" or (self.overrule_declines == "auto" and self.llm_backend == "embedded")


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (and `.env`); InputError naming the variable, value and what is allowed."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InputError(settings_error_message(exc)) from exc


_SECRET_FIELDS = ("llm_api_key", "embedding_api_key")
_ALLOWED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "path_type": "a directory path",
}


def settings_error_message(exc: ValidationError) -> str:
    """`ASSISTANT_TOP_K='0' is not allowed: expected at least 1` for the first error (one line, no secrets)."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    variable = name.upper() if name.upper().startswith(("ASSISTANT_", "OPENAI_")) else f"ASSISTANT_{name.upper()}"
    value = error.get("input")
    if name.lower() in _SECRET_FIELDS:
        shown = "(hidden)"
    elif isinstance(value, str) and ("@" in value or "?" in value or "#" in value) and "://" in value:
        shown = repr(value.split("://", 1)[0] + "://…")  # may carry credentials: never echoed
    else:
        shown = repr(value if isinstance(value, str) else str(value))
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return f"{variable}={shown} {ctx.get('error', error['msg'])}"
    if kind == "literal_error":
        allowed = f"one of {ctx['expected']}"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"greater_than_equal": "at least", "greater_than": "greater than",
                 "less_than_equal": "at most", "less_than": "less than"}  # fmt: skip
        bound = next(iter(ctx.values()))
        allowed = f"{words[kind]} {bound}"
        if name == "chroma_port":
            allowed = "a port from 1 to 65535"
    else:
        allowed = _ALLOWED.get(kind, error["msg"].lower())
    more = f" (and {len(exc.errors()) - 1} more invalid setting(s))" if len(exc.errors()) > 1 else ""
    return f"{variable}={shown} is not allowed: expected {allowed}{more}"


def get_settings(settings: Settings | None = None, **overrides: object) -> Settings:
    """Return `settings` or build them from the environment, applying overrides."""
    if settings is None:
        return Settings(**overrides)  # type: ignore[arg-type]
    return settings.model_copy(update=overrides) if overrides else settings
