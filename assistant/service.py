"""The assistant as one object: settings, embedder, store, retriever and (lazily) the chat model.

The CLI builds one per command and the Streamlit app one per server process; both call these
methods and only render. Library users can do the same from Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from assistant.chat_handle import ChatHandle
from assistant.config import Settings, get_settings
from assistant.errors import InputError
from assistant.embeddings import LOCAL_DIM, LOCAL_MODEL_NAME, Embedder, SentenceCache, make_embedder
from assistant.ingest import IngestReport, ProgressFn, ingest_paths, ingest_papers
from assistant.papers import Answer, Hit, Paper, Turn
from assistant.retrieve import Mode, Retriever
from assistant.store import Store

if TYPE_CHECKING:  # imported lazily at call time: chains import LangChain (slow), most commands need none
    from datetime import date

    from langchain_core.language_models import BaseChatModel

    from assistant.chains.compare import Comparison
    from assistant.chains.digest_types import Digest
    from assistant.chains.evidence import Evidence
    from assistant.chains.qa import QA, AskEvent
    from assistant.chains.takeaway import Takeaway
    from assistant.fetch import FetchOptions, FetchReport


class Assistant:
    """Owns the long-lived resources; thread-safe for concurrent readers."""

    def __init__(
        self,
        settings: Settings | None = None,
        chat_model: BaseChatModel | None = None,
        check_model: bool = True,
        embedder: Embedder | None = None,
    ) -> None:
        self.settings = get_settings(settings)
        if embedder is not None:  # an embedder already loaded (another Assistant's): not loaded again
            self.embedder = embedder
        self.check_model = check_model  # False only to re-embed a store built with another embedder
        self._chat = ChatHandle(self.settings, chat_model)
        # A model passed in (a library user's own, or a test's fake) takes the same path as the
        # configured one; only its label says where it came from.
        self._label = f"injected:{type(chat_model).__name__}" if chat_model is not None else None

    @cached_property
    def embedder(self) -> Embedder:
        return make_embedder(self.settings)

    @cached_property
    def embed_sentences(self) -> SentenceCache:
        """`embedder.embed` with a process-wide memo, backed by the store's kept vectors: the QA chain embeds
        the same abstract sentences often, and a paper asked about once is not embedded again."""
        return SentenceCache(self.embedder.embed, self.store.sentence_vectors(self.embedder.vector_space))

    @cached_property
    def store(self) -> Store:
        # The local embedder's name and dim are constants: opening the store (the UI's first page,
        # `stats`, `search`'s paper table) does not wait for the ONNX model to load.
        if self.settings.embedding_backend == "local" and "embedder" not in self.__dict__:
            name, dim = LOCAL_MODEL_NAME, LOCAL_DIM
        else:
            name, dim = self.embedder.name, getattr(self.embedder, "dim", 0)
        return Store(self.settings, name, dim, check_model=self.check_model)

    @cached_property
    def retriever(self) -> Retriever:
        return Retriever(self.store, self.embedder.embed, self.settings)

    def with_chat_model(self, chat_model: BaseChatModel) -> Assistant:
        """Another Assistant on this one's open store, embedder and indexes that answers with `chat_model`
        (e.g. to compare models on one store). Close only the original: the store is shared."""
        other = Assistant(self.settings, chat_model=chat_model, check_model=self.check_model, embedder=self.embedder)
        other.store, other.retriever = self.store, self.retriever
        return other

    @property
    def chat_model(self) -> BaseChatModel:
        """The configured chat model, started on first use (the embedded one takes seconds)."""
        return self._chat.get()

    @property
    def model_label(self) -> str:
        """What answered: the configured back end, or the class of a model passed in."""
        if self._label is not None:
            return self._label
        from assistant.endpoint import model_label

        return model_label(self.settings)

    # --- corpus ----------------------------------------------------------------------
    def ingest(
        self,
        paths: list[Path],
        fmt: str = "auto",
        year: int | None = None,
        progress: bool = True,
        on_progress: ProgressFn | None = None,
    ) -> IngestReport:
        return self._read_after(ingest_paths(paths, self.store, self.embedder, fmt, year, progress, on_progress))

    def ingest_papers(self, papers: list[Paper], progress: bool = True) -> IngestReport:
        report = IngestReport(parsed=len(papers))
        return self._read_after(ingest_papers(papers, self.store, self.embedder, report, progress=progress))

    def _read_after(self, report: IngestReport) -> IngestReport:
        """Have changed papers read ahead of questions (`assistant.reading`), as `read_after_ingest` says."""
        if report.new or report.updated:
            if self.settings.read_after_ingest == "background":
                from assistant.reading import start_reader

                start_reader(self.settings)
            elif self.settings.read_after_ingest == "wait":
                self.read_papers()
        return report

    def read_papers(self) -> int:
        """Embed and keep every stored paper's title and abstract sentences not kept yet (what the QA judge
        embeds of a paper), newest first; returns how many texts were embedded."""
        from assistant.chains.answerable import paper_texts
        from assistant.reading import read_papers

        return read_papers(self.store, self.embedder, paper_texts)

    def search(
        self, query: str, k: int = 10, since: str | None = None, until: str | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        return self.retriever.search(query, k=k, since=since, until=until, mode=mode)

    def takeaways(self, papers: Sequence[Paper]) -> dict[str, Takeaway]:
        """One checked line per paper (what it does or finds), cached per content hash."""
        from assistant.chains.takeaway import takeaways

        return takeaways(papers, self.embed_sentences, self.store)

    # --- answers (the pipeline: assistant/chains/qa.py) --------------------------------------
    @cached_property
    def qa(self) -> QA:
        """The QA pipeline's resources: search, the sentence cache, the chat model (lazily), the
        comparison chain. Each is a lower layer's own callable: the pipeline never calls back up here."""
        from assistant.chains.compare import compare
        from assistant.chains.qa import QA

        # A comparison asked in the chat: the table's cells come from one model call per paper for an
        # endpoint, from the abstracts for the slow local model (as the digest's `auto` extraction). The
        # packaged model does not compose it either: its compose call took 24-195 s on the dev comparisons
        # and rarely survived the check; the answer states each paper's answering sentence instead (`chains/qa.py`).
        compare_chosen = partial(
            compare, llm_factory=self._chat.get, store=self.store, embed=self.embed_sentences,
            model_label=self.model_label, workers=self._model_workers(), model_extraction=self._model_workers() > 1,
            model_compose=not self._packaged_model(),
        )
        return QA(
            self.retriever.search, self.settings.top_k, self.embed_sentences, self._chat.get, self.model_label,
            self.settings.evidence_sentences, self.retriever.term_weights, compare_chosen,
            keep=self.embed_sentences.keep, overrule_declines=self.settings.overrules_declines,
        )

    def evidence_for(self, question: str, k: int | None = None) -> Evidence:
        """Retrieve and focus the evidence for a standalone question (what the model would be shown)."""
        from assistant.chains.qa import evidence_for

        return evidence_for(question, k, self.qa)

    def ask_stream(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Iterator[AskEvent]:
        """The events of one question (see `assistant.chains.qa.answer_events`)."""
        from assistant.chains.qa import answer_events

        return answer_events(question, history, k, self.qa)

    def ask(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        """The checked answer (non-streaming form of `ask_stream`)."""
        answer: Answer | None = None
        for kind, value in self.ask_stream(question, history, k):
            if kind == "answer":
                answer = value
        assert answer is not None
        return answer

    def stats(self, vectors: bool = True) -> dict[str, object]:
        return self.store.stats(vectors)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    # --- comparisons and digests (assistant/chains/compare.py, digest.py) --------------------
    def _model_workers(self) -> int:
        """Concurrent per-paper calls: several for a configured remote endpoint; one for the local model
        or a model passed in (its thread safety is unknown)."""
        return 4 if self._label is None and self.settings.llm_backend == "openai" else 1

    def compare(
        self,
        items: Sequence[str],
        n: int = 4,
        since: str | None = None,
        until: str | None = None,
        progress: bool = False,
    ) -> Comparison:
        """Compare 2-6 papers given by id, or the best diverse matches of a query (ITEMS joined).

        Per paper a cached extraction (problem, method, data, result) fills a table whose every
        cell cites its paper and is checked; then one call writes the comparison, every sentence
        checked like an answer. With the slow packaged model the cells are the papers' own-work
        sentences instead (no call per paper, as the digest's `auto` extraction), so that a
        comparison of four papers stays within a minute.
        """
        from assistant.chains.compare import choose_papers, compare

        papers, query = choose_papers(items, self.store, self.search, n=n, since=since, until=until, embed=self.embed_sentences)
        return compare(
            papers, self._chat.get, self.store, self.embed_sentences, self.model_label, query=query,
            progress=progress, workers=self._model_workers(), model_extraction=not self._packaged_model(),
        )

    def _packaged_model(self) -> bool:
        """Whether the chat model is the slow packaged local one (not an endpoint, not a model passed in)."""
        return self._label is None and self.settings.llm_backend == "embedded"

    def digest(
        self,
        week: str | None = None,
        since: str | None = None,
        until: str | None = None,
        extract: str = "auto",
        topics: int | None = None,
        progress: bool = False,
        today: date | None = None,
    ) -> Digest:
        """The digest of an ISO week (`2024-W23` or `last`) or of since..until (list dates, inclusive).

        `extract`: `model` = one cached model call per paper for its notes; `quick` = abstract
        sentences picked by cue words (plus extractions already cached); `auto` = `quick` for the
        embedded local model (a 120-paper week stays within minutes), `model` otherwise.
        """
        from assistant.chains.digest import build_digest
        from assistant.periods import resolve_period

        if extract not in ("auto", "model", "quick"):
            raise InputError(f"extract must be auto, model or quick; got {extract!r}")
        if extract == "auto":
            extract = "quick" if self._packaged_model() else "model"
        period = resolve_period(self.store, week, since, until, today)
        return build_digest(
            period, self.store, self._chat.get, self.embed_sentences, self.model_label,
            embedder_name=self.embedder.name, extract=extract, k=topics,  # type: ignore[arg-type]
            progress=progress, workers=self._model_workers(),
        )

    # --- daily feeds (assistant/fetch.py) ---------------------------------------------------
    def fetch(self, **options: Unpack[FetchOptions]) -> FetchReport:
        """Fetch daily lists from the HF API (or the arXiv categories in `arxiv`) and ingest them.

        No period = the latest days (the UI's "Fetch latest"). Days fetched completely before are
        skipped unless `refresh` (to update upvotes). `on_progress(done, total, message)` per day.
        Raises FetchError when the source cannot be reached (then nothing was changed).
        """
        from assistant.fetch import fetch_papers

        return fetch_papers(self.settings, lambda: self, **options)
