"""The keyword index: BM25 (bm25s) over whole papers, its analyser, and its files in the data dir.

The index is derived from the paper table: it is saved with the table's generation and rebuilt when
the table moved on. Analysed tokens are cached per paper and content hash in the paper table's
database, so a rebuild analyses only new or changed papers.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.store.paper_table import PaperTable

log = logging.getLogger(__name__)

TOKENS_SCHEMA = """
CREATE TABLE IF NOT EXISTS keyword_tokens (
    paper_id TEXT PRIMARY KEY REFERENCES papers(paper_id) ON DELETE CASCADE,
    content_hash TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    tokens TEXT NOT NULL
);
"""

_COMPOUND = re.compile(r"\w+(?:[-/]\w+)+")
# Bump when the analysis below changes: an index saved by another version is rebuilt on load.
KEYWORD_ANALYZER = "en-stem-stop+compounds-1"


def _bm25s() -> Any:
    """Import bm25s lazily (it is slow to import) and undo the DEBUG level it sets on import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def keyword_text(text: str) -> str:
    """What BM25 indexes and queries: the text plus each hyphenated name joined into one token.

    The tokenizer splits `LiDAR-PTQ` into `lidar` + `ptq`; the joined `lidarptq` (and
    `mobileagentv2` for `Mobile-Agent-v2`) also matches, so an exact name outranks papers that
    merely mention both halves.
    """
    joined = [m.replace("-", "").replace("/", "") for m in _COMPOUND.findall(text)]
    return f"{text} {' '.join(joined)}" if joined else text


class KeywordIndex:
    """BM25 over whole papers (title + abstract), English stemming and stop words."""

    def __init__(self, retriever: object, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self._pos = {pid: i for i, pid in enumerate(ids)}

    @staticmethod
    def _stemmer() -> object:
        import Stemmer

        return Stemmer.Stemmer("english")

    @classmethod
    def tokenize(cls, texts: list[str]) -> list[list[str]]:
        """The analysed tokens of each text (stemmed, stop words removed, compounds joined)."""
        if not texts:
            return []
        return _bm25s().tokenize(  # type: ignore[no-any-return]
            [keyword_text(t) for t in texts], stopwords="en", stemmer=cls._stemmer(), show_progress=False, return_ids=False
        )

    @classmethod
    def build(cls, ids: list[str], texts: list[str] | None = None, tokens: list[list[str]] | None = None) -> KeywordIndex:
        """An index over `texts`, or over already analysed `tokens` (the store caches them per paper)."""
        bm25s = _bm25s()

        retriever = bm25s.BM25()
        corpus = tokens if tokens is not None else cls.tokenize(texts or [])
        if corpus:
            retriever.index(corpus, show_progress=False)
        return cls(retriever, ids)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        if self.ids:
            self.retriever.save(str(path))  # type: ignore[attr-defined]
        (path / "ids.json").write_text(json.dumps(self.ids))
        (path / "analyzer").write_text(KEYWORD_ANALYZER)

    @classmethod
    def load(cls, path: Path) -> KeywordIndex:
        bm25s = _bm25s()

        analyzer = path / "analyzer"
        if not analyzer.exists() or analyzer.read_text().strip() != KEYWORD_ANALYZER:
            raise ValueError("keyword index built with another analyzer")
        ids = json.loads((path / "ids.json").read_text())
        retriever = bm25s.BM25.load(str(path)) if ids else bm25s.BM25()
        return cls(retriever, ids)

    def search(self, query: str, n: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """Best `n` papers for `query` as (paper_id, score), restricted to `allowed` ids if given."""
        bm25s = _bm25s()

        if not self.ids:
            return []
        tokens = bm25s.tokenize([keyword_text(query)], stopwords="en", stemmer=self._stemmer(), show_progress=False)
        if not tokens.vocab or all(len(t) == 0 for t in tokens.ids):
            return []
        mask = None
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=np.float32)
            idx = [self._pos[p] for p in allowed if p in self._pos]
            if not idx:
                return []
            mask[idx] = 1.0
        k = min(n, len(self.ids) if mask is None else int(mask.sum()))
        docs, scores = self.retriever.retrieve(  # type: ignore[attr-defined]
            tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [(self.ids[d], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def term_weights(self, texts: list[str]) -> list[dict[str, float]]:
        """Each text's analysed tokens with their rarity in the indexed papers, in [0, 1].

        Rarity is the inverse document frequency log((N + 1) / (df + 1)) / log(N + 1): a word no
        paper contains (an unknown name) weighs 1, a word every paper contains about 0. The
        answerability decision uses it to tell a missing rare word (a method's name, "dropout")
        from a missing common one ("results").
        """
        tokens = self.tokenize(texts)
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        scores = getattr(self.retriever, "scores", None) or {}
        indptr = scores.get("indptr")
        total = len(self.ids)
        norm = float(np.log(total + 1)) or 1.0
        out = []
        for words in tokens:
            weights = {}
            for w in words:
                tid = vocab.get(w)
                df = int(indptr[tid + 1] - indptr[tid]) if tid is not None and indptr is not None else 0
                weights[w] = float(np.log((total + 1) / (df + 1))) / norm
            out.append(weights)
        return out

    def scores_for(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given papers for `query` (0.0 when no query term occurs; unknown ids left out).

        Hybrid search uses it to score dense-only candidates exactly instead of guessing.
        """
        bm25s = _bm25s()

        wanted = [p for p in ids if p in self._pos]
        if not wanted:
            return {}
        words = bm25s.tokenize(
            [keyword_text(query)], stopwords="en", stemmer=self._stemmer(), show_progress=False, return_ids=False
        )[0]
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        words = [w for w in words if w in vocab]
        if not words:
            return {p: 0.0 for p in wanted}
        scores = self.retriever.get_scores(words)  # type: ignore[attr-defined]
        return {p: float(scores[self._pos[p]]) for p in wanted}


class KeywordFiles:
    """The keyword index of the paper table, kept under data_dir/bm25 with the generation it was built from."""

    def __init__(self, data_dir: Path, table: PaperTable) -> None:
        self.dir = data_dir
        self.table = table
        self._kw: KeywordIndex | None = None
        self._kw_generation = -1

    @property
    def _path(self) -> Path:
        return self.dir / "bm25"

    def current(self) -> KeywordIndex:
        """The BM25 index of the current paper table; loaded from disk or rebuilt when stale."""
        with self.table.lock:
            gen = self.table.generation
            if self._kw is not None and self._kw_generation == gen:
                return self._kw
            stamp = self._path / "generation"
            if stamp.exists() and stamp.read_text().strip() == str(gen):
                try:
                    self._kw, self._kw_generation = KeywordIndex.load(self._path), gen
                    return self._kw
                except Exception as exc:  # a torn index file: rebuild below
                    log.warning("keyword index unreadable (%s); rebuilding", exc)
            return self.rebuild()

    def _tokens(self) -> tuple[list[str], list[list[str]]]:
        """(paper ids in id order, their analysed tokens); only new or changed papers are analysed.

        bm25s has no append: BM25 weights depend on corpus-wide statistics, so the index matrix is
        rebuilt, but from tokens cached per paper and content hash (analysis is most of the cost).
        """
        db = self.table.db
        rows = db.execute(
            "SELECT p.paper_id, p.content_hash, p.title, p.abstract, k.content_hash, k.analyzer, k.tokens "
            "FROM papers p LEFT JOIN keyword_tokens k ON k.paper_id = p.paper_id ORDER BY p.paper_id"
        ).fetchall()
        ids = [r[0] for r in rows]
        tokens: list[list[str] | None] = [
            r[6].split(" ") if r[6] and r[4] == r[1] and r[5] == KEYWORD_ANALYZER else None for r in rows
        ]
        todo = [i for i, t in enumerate(tokens) if t is None]
        fresh = KeywordIndex.tokenize([f"{rows[i][2]}\n\n{rows[i][3]}" for i in todo])
        for i, toks in zip(todo, fresh):
            tokens[i] = toks
        if todo:
            try:
                with db:
                    db.executemany(
                        "INSERT OR REPLACE INTO keyword_tokens (paper_id, content_hash, analyzer, tokens) VALUES (?, ?, ?, ?)",
                        [(rows[i][0], rows[i][1], KEYWORD_ANALYZER, " ".join(tokens[i] or [])) for i in todo],
                    )
            except sqlite3.Error as exc:  # a cache: the index is still right without it
                log.warning("could not cache keyword tokens in %s: %s", self.dir, exc)
        return ids, [t or [] for t in tokens]

    def rebuild(self) -> KeywordIndex:
        """Rebuild from the paper table and replace the saved index (kept in memory if it cannot be saved)."""
        with self.table.lock:
            gen = self.table.generation
            ids, tokens = self._tokens()
            kw = KeywordIndex.build(ids, tokens=tokens)
            try:
                tmp = self.dir / "bm25.tmp"
                if tmp.exists():
                    shutil.rmtree(tmp)
                kw.save(tmp)
                (tmp / "generation").write_text(str(gen))
                if self._path.exists():
                    shutil.rmtree(self._path)
                tmp.rename(self._path)
            except OSError as exc:
                log.warning("could not save the keyword index in %s: %s (kept in memory)", self.dir, exc)
            self._kw, self._kw_generation = kw, gen
            return kw
