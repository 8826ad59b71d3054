"""The keyword index: BM25 (bm25s) over whole papers, its analyser, and its files in the data dir.

The index is derived from the paper table: it is saved with the table's generation and rebuilt when
the table moved on. Analysed tokens are cached per paper and content hash in the paper table's
database, so a rebuild analyses only new or changed papers.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Collection, Iterable, Sequence
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
_WORD = re.compile(r"(?u)\b\w\w+\b")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]*[A-Z][A-Z0-9]*s?$")  # CLIP, PTQ, LLMs, GPT4; not Clip, not clip
_PHRASE_BREAK = re.compile(r"[.;:!?()\[\]{}\"]|,\s")
_PLAIN = re.compile(r"\w+")
# Bump when the analysis below changes: an index saved by another version is rebuilt on load.
KEYWORD_ANALYZER = "en-stem-stop+compounds+acronyms+bigrams+ascii-3"


def _bm25s() -> Any:
    """Import bm25s lazily (it is slow to import) and undo the DEBUG level it sets on import."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def fold(text: str) -> str:
    """The text without diacritics ("Tülu" -> "Tulu", "Schrödinger" -> "Schrodinger"), so a name typed
    without its accents matches; letters with no ASCII base (ß, ø, CJK) are kept as they are."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def keyword_text(text: str) -> str:
    """What BM25 indexes and queries: the text plus each hyphenated name joined into one token.

    The tokenizer splits `LiDAR-PTQ` into `lidar` + `ptq`; the joined `lidarptq` (and
    `mobileagentv2` for `Mobile-Agent-v2`) also matches, so an exact name outranks papers that
    merely mention both halves.
    """
    joined = [m.replace("-", "").replace("/", "") for m in _COMPOUND.findall(text)]
    return f"{text} {' '.join(joined)}" if joined else text


# Weights of the extra tokens in a query's BM25 score (words weigh 1): fitted on the answer cases'
# dev split ("which papers" recall@10, paraphrase recall@5) and SciFact train; see retrieval.md.
ACRONYM_WEIGHT = 1.0
PAIR_WEIGHT = 0.5
# A query word typed in lower case ("dpo", "galore") also counts as the acronym when at least this share
# of the papers that contain the word write it in capitals (see `KeywordIndex.query_tokens`).
ACRONYM_SHARE = 0.5


def english_stemmer() -> Any:
    """A new Snowball English stemmer (PyStemmer): the one stemmer of the keyword index and of the words the judge
    and the support check read (`chains.answerable`, which keeps one for `stem` and `content_stems`)."""
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.cache
def _stop_words() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def analyse(text: str, stemmer: Any, pairs: bool = True) -> list[str]:
    """The keyword tokens of one text: its stemmed words, then its acronyms and neighbouring word pairs.

    Words are lower-cased, stop words removed and stemmed (Snowball), compounds joined
    (`keyword_text`). An acronym typed in capitals also yields `^clip`, so "CLIP" papers outrank
    PPO's "clip"; two neighbouring words within a phrase yield `consist+model`, so a paper on
    "consistency models" outranks the many that say "models" and "consistency" apart.
    """
    stop = _stop_words()
    text = fold(text)
    words: list[str] = []
    phrase_of: list[int] = []
    for n, phrase in enumerate(_PHRASE_BREAK.split(text)):
        for word in _WORD.findall(phrase.lower()):
            if word not in stop:
                words.append(word)
                phrase_of.append(n)
    joined = [w for m in _COMPOUND.findall(text) for w in _WORD.findall(m.replace("-", "").replace("/", "").lower())]
    stems = stemmer.stemWords(words + [w for w in joined if w not in stop])
    if not pairs:
        return stems  # type: ignore[no-any-return]
    acronyms = ["^" + (w[:-1] if w.endswith("s") else w).lower() for w in _WORD.findall(text) if _ACRONYM.match(w)]
    neighbours = [f"{stems[i]}+{stems[i + 1]}" for i in range(len(words) - 1) if phrase_of[i] == phrase_of[i + 1]]
    return stems + acronyms + neighbours  # type: ignore[no-any-return]


def pair_texts(text: str) -> list[str]:
    """Neighbouring words of a text that a paper may write as one name ("easy ref" for EasyRef, "simmatch v2" for
    SimMatchV2, "sink d" for SinKD), for the analyser: each pair joined, then apart ("easyref", "easy ref", ...).
    Pairs stay within a phrase; two stop words ("of the") are no name. `joined_names` reads the analysed texts."""
    stop = _stop_words()
    return [
        t
        for phrase in _PHRASE_BREAK.split(fold(text))
        for plain in [_PLAIN.findall(phrase.lower())]  # one-letter parts too: "decoupled q", "sink d"
        for a, b in zip(plain, plain[1:])
        if not (a in stop and b in stop)
        for t in (a + b, f"{a} {b}")
    ]


def joined_names(analysed: Sequence[Collection[str]]) -> list[tuple[str, set[str]]]:
    """Each pair's joined word with its two parts, from the `pair_texts` as the index's analyser read them
    (`KeywordIndex.words`, or the keys of `KeywordIndex.term_weights`): one helper for search, which adds the joined
    word when some paper contains it (the papers' own spelling decides: "model merging" adds nothing), and the
    judge, which counts both parts stated by a paper that states it. A pair whose join is a stop word ("no t") is
    no name."""
    return [(next(iter(joined)), set(parts)) for joined, parts in zip(analysed[::2], analysed[1::2]) if len(joined) == 1]


def _is_word(token: str) -> bool:
    return bool(_PLAIN.fullmatch(token))


def _is_acronym(token: str) -> bool:
    return token.startswith("^")


def _is_pair(token: str) -> bool:
    return "+" in token


class KeywordIndex:
    """BM25 over whole papers (title + abstract), English stemming and stop words."""

    def __init__(self, retriever: object, ids: list[str]) -> None:
        self.retriever = retriever
        self.ids = ids
        self._pos = {pid: i for i, pid in enumerate(ids)}

    @classmethod
    def tokenize(cls, texts: list[str]) -> list[list[str]]:
        """The analysed tokens of each text, as indexed and queried (`analyse`)."""
        stemmer = english_stemmer()
        return [analyse(t, stemmer) for t in texts]

    @classmethod
    def words(cls, texts: list[str]) -> list[list[str]]:
        """The stemmed words of each text, without acronyms and word pairs (for `term_weights`)."""
        stemmer = english_stemmer()
        return [analyse(t, stemmer, pairs=False) for t in texts]

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
        if not self.ids:
            return []
        scores = self._scores(query)
        if scores is None:
            return []
        if allowed is not None:
            mask = np.zeros(len(self.ids), dtype=bool)
            idx = [self._pos[p] for p in allowed if p in self._pos]
            if not idx:
                return []
            mask[idx] = True
            scores = np.where(mask, scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > n:
            hits = hits[np.argpartition(-scores[hits], n - 1)[:n]]
        hits = hits[np.lexsort((hits, -scores[hits]))]
        return [(self.ids[d], float(s)) for d, s in zip(hits.tolist(), scores[hits].tolist())]

    def _df(self, token: str) -> int:
        """How many indexed papers contain `token` (0 when none does).

        Read from bm25s's token-major score matrix (`scores["indptr"]`: a token's run of nonzero scores is
        one per paper containing it); bm25s is pinned, and a test checks this against a plain count."""
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        indptr = (getattr(self.retriever, "scores", None) or {}).get("indptr")
        tid = vocab.get(token)
        return int(indptr[tid + 1] - indptr[tid]) if tid is not None and indptr is not None else 0

    def query_tokens(self, query: str) -> list[str]:
        """The query's analysed tokens, plus `^dpo` for a word typed in lower case ("dpo", "tulu") when the
        papers that contain it mostly write it in capitals (`ACRONYM_SHARE`): what the corpus calls an
        acronym is read as one, while "clip" in a corpus of gradient-clipping papers stays a word."""
        tokens = self.tokenize([query])[0]
        stemmer = english_stemmer()
        have = set(tokens)
        stop = _stop_words()
        for joined, _parts in joined_names(self.words(pair_texts(query))):
            if joined not in have and self._df(joined) > 0:
                tokens.append(joined)
                have.add(joined)
        for word in _WORD.findall(fold(query)):
            if not word.islower() or word in stop:
                continue
            acronym = "^" + word  # not de-pluralised: "clips" is a word's plural, "CLIPs" an acronym's
            stem = stemmer.stemWord(word)  # type: ignore[attr-defined]
            if acronym not in have and self._df(acronym) >= ACRONYM_SHARE * max(self._df(stem), 1):
                tokens.append(acronym)
                have.add(acronym)
        return tokens

    def _scores(self, query: str) -> np.ndarray | None:
        """BM25 of every paper: its words, plus its acronyms and word pairs at their weights (None: no known term)."""
        vocab = getattr(self.retriever, "vocab_dict", None) or {}
        tokens = [w for w in self.query_tokens(query) if w in vocab]
        total: np.ndarray | None = None
        for kind, weight in ((_is_word, 1.0), (_is_acronym, ACRONYM_WEIGHT), (_is_pair, PAIR_WEIGHT)):
            part = [w for w in tokens if kind(w)]
            if part and weight > 0:
                scores = weight * np.asarray(self.retriever.get_scores(part), dtype=np.float32)  # type: ignore[attr-defined]
                total = scores if total is None else total + scores
        return total

    def term_weights(self, texts: list[str]) -> list[dict[str, float]]:
        """Each text's analysed tokens with their rarity in the indexed papers, in [0, 1].

        Rarity is the inverse document frequency log((N + 1) / (df + 1)) / log(N + 1): a word no
        paper contains (an unknown name) weighs 1, a word every paper contains about 0. The
        answerability decision uses it to tell a missing rare word (a method's name, "dropout")
        from a missing common one ("results").
        """
        total = len(self.ids)
        norm = float(np.log(total + 1)) or 1.0
        return [{w: float(np.log((total + 1) / (self._df(w) + 1))) / norm for w in words} for words in self.words(texts)]

    def scores_for(self, query: str, ids: Iterable[str]) -> dict[str, float]:
        """BM25 scores of the given papers for `query` (0.0 when no query term occurs; unknown ids left out).

        Hybrid search uses it to score dense-only candidates exactly instead of guessing.
        """
        wanted = [p for p in ids if p in self._pos]
        if not wanted:
            return {}
        scores = self._scores(query)
        if scores is None:
            return {p: 0.0 for p in wanted}
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
