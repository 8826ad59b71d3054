"""The data types that flow between stages: Paper, Chunk, parse results, search hits, answers.

Parsers produce `Paper`s, ingest turns them into `Chunk`s, retrieval returns `Hit`s, chains
return `Answer`s. Also the two normalisation rules every stage must agree on: text and ids.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from pydantic import BaseModel, Field

_WS = re.compile(r"\s+")
# C0/C1 control characters other than whitespace (NUL, BEL, ESC, DEL...): they break exports and terminals.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SENTENCE_END = re.compile(r"[.!?](?=\s)")
MAX_TITLE_CHARS = 300
"""Longer titles are cut at a word: arXiv titles stay well under it, and a longer one would fill the
embedding window that the title shares with each chunk of the abstract."""
MAX_ABSTRACT_CHARS = 10_000
"""Longer abstracts are cut at a sentence end: arXiv caps abstracts at 1,920 characters, so more is a
pasted paper body, which would cost minutes of embedding and flood every prompt."""
# Every spelling arXiv itself accepts: `arXiv:` prefixes, abs/pdf/html URLs (any host spelling, with
# or without a version, `.pdf`, query or fragment), upper-case `V`, and old-style `hep-th/9901001`.
_ARXIV_ID = re.compile(
    r"""^(?:arxiv:\s*)?
    (?:(?:https?://)?(?:www\.|export\.)?arxiv\.org)?/?(?:(?:abs|pdf|html)/)?
    (?:(?P<new>\d{4}\.\d{4,5})|(?P<archive>[a-z][a-z\-]*)(?P<cls>\.[a-z]{2})?/(?P<num>\d{7}))
    (?:v\d+)?(?:\.pdf)?/?(?:[?#].*)?(?:\s*\[[^\]]*\])?$""",
    re.IGNORECASE | re.VERBOSE,
)


def normalize_text(text: str) -> str:
    """Unicode NFC, control characters dropped, whitespace folded (undoes hard wraps). Keeps LaTeX as it is."""
    return _WS.sub(" ", _CONTROL.sub("", unicodedata.normalize("NFC", text))).strip()


def cap_fields(title: str, abstract: str) -> tuple[str, str, list[str]]:
    """Normalised title and abstract cut to MAX_TITLE_CHARS / MAX_ABSTRACT_CHARS, with what was cut.

    Every parser calls it before making the paper id, so one paper gets the same id from any source.
    """
    problems = []
    if len(title) > MAX_TITLE_CHARS:
        problems.append(
            f"title is {len(title):,} characters, over the {MAX_TITLE_CHARS:,}-character limit: "
            "cut at the limit, kept the paper; check the title field"
        )
        title = _cut(title, MAX_TITLE_CHARS, sentence=False)
    if len(abstract) > MAX_ABSTRACT_CHARS:
        problems.append(
            f"abstract is {len(abstract):,} characters, over the {MAX_ABSTRACT_CHARS:,}-character limit: "
            "cut at the limit (at a sentence end where there is one), kept the paper; check the abstract field"
        )
        abstract = _cut(abstract, MAX_ABSTRACT_CHARS, sentence=True)
    return title, abstract, problems


def _cut(text: str, limit: int, *, sentence: bool) -> str:
    """At most `limit` characters ending at a sentence end (or a word), else a hard cut."""
    head = text[: limit + 1]
    if sentence:
        ends = [m.end() for m in _SENTENCE_END.finditer(head)]
        if ends and ends[-1] >= limit // 2:
            return head[: ends[-1]]
    space = head.rfind(" ")
    return head[:space].rstrip() if space >= limit // 2 else text[:limit]


def title_key(title: str) -> str:
    """The form of a title used for identity: normalized and case-folded."""
    return normalize_text(title).casefold()


def clean_arxiv_id(raw: str | None) -> str | None:
    """The versionless arXiv id in any spelling arXiv accepts (`arXiv:2406.01234V2`,
    `https://arxiv.org/pdf/2406.01234v1.pdf`, `/abs/hep-th/9901001`); anything else -> None."""
    if not raw:
        return None
    m = _ARXIV_ID.match(raw.strip())
    if not m:
        return None
    if m["new"]:
        return m["new"]
    return f"{m['archive'].lower()}{(m['cls'] or '').upper()}/{m['num']}"


def make_paper_id(title: str, arxiv_id: str | None = None) -> str:
    """The arXiv id (without version) when known, else `t:` + 16 hex of sha256(normalized title)."""
    clean = clean_arxiv_id(arxiv_id)
    if clean:
        return clean
    return "t:" + hashlib.sha256(title_key(title).encode("utf-8")).hexdigest()[:16]


class Paper(BaseModel):
    """One paper, however many lists it appeared on. `dates` are ISO list dates, sorted."""

    paper_id: str
    title: str
    abstract: str
    authors: list[str] = Field(default_factory=list)
    dates: list[str] = Field(default_factory=list)
    published: str | None = None
    url: str | None = None
    upvotes: int | None = None
    github: str | None = None
    source: str = ""
    extra: dict[str, object] = Field(default_factory=dict)

    @property
    def arxiv_id(self) -> str | None:
        return None if self.paper_id.startswith("t:") else self.paper_id

    @property
    def link(self) -> str | None:
        """Where a reader can open the paper."""
        if self.url:
            return self.url
        return f"https://arxiv.org/abs/{self.paper_id}" if self.arxiv_id else None

    @property
    def content_hash(self) -> str:
        """Hash of what gets embedded: a change here means the chunks must be re-embedded."""
        return hashlib.sha256(paper_text(self.title, self.abstract).encode("utf-8")).hexdigest()[:32]

    @property
    def text(self) -> str:
        """Title and abstract as one document (what BM25 and the chunker see)."""
        return paper_text(self.title, self.abstract)


class Chunk(BaseModel):
    """A piece of a paper's `text` that fits the embedder's window; offsets index into `Paper.text`."""

    chunk_id: str
    paper_id: str
    text: str
    start: int
    end: int


def paper_text(title: str, abstract: str) -> str:
    """A paper as one document: title, blank line, abstract (`Paper.text`; chunk offsets index it)."""
    return f"{title}\n\n{abstract}"


def chunk_text(title: str, abstract: str, start: int, end: int) -> str:
    """What a chunk embeds, rebuilt from its paper's title, abstract and offsets (Chroma keeps no texts).

    The whole paper when the chunk starts at 0; otherwise the title in front of the piece. Slices the
    abstract directly: rebuilding the paper text for every chunk made chunking quadratic in its length.
    """
    if start == 0:
        return paper_text(title, abstract)[:end]
    offset = len(title) + 2
    return f"{title}\n\n{abstract[start - offset : end - offset]}"


class ParseIssue(BaseModel):
    """One problem found in an input file. `line` is 1-based, or None for the whole file."""

    file: str
    line: int | None = None
    reason: str


class ParseResult(BaseModel):
    """What a parser found in one file: the papers (entries, not yet merged) and problems."""

    papers: list[Paper] = Field(default_factory=list)
    errors: list[ParseIssue] = Field(default_factory=list)
    skipped: int = 0


Turn = tuple[str, str]
"""One message of a conversation, as follow-up questions carry it: (role, text), role "user" or "assistant"."""


class Hit(BaseModel):
    """One retrieved paper with its fused score and the passages that matched."""

    paper: Paper
    score: float
    passages: list[str] = Field(default_factory=list)
    own_score: float | None = None
    """The paper's own fused score, before its neighbours lifted it (`retrieve.smooth`); None: as `score`."""

    @property
    def relevance(self) -> float:
        """The score the query alone gives the paper (not lifted by similar papers)."""
        return self.score if self.own_score is None else self.own_score


class Citation(BaseModel):
    """A `[n]` in an answer, resolved to a retrieved paper and checked for support."""

    n: int
    paper_id: str
    title: str
    url: str | None = None
    supported: bool
    unverified: bool = False
    """Cited only for sentences the support check could neither confirm nor reject (see `Sentence.unverified`)."""


class Sentence(BaseModel):
    """One sentence of an answer with the evidence numbers it cites and whether they support it."""

    text: str
    cites: list[int] = Field(default_factory=list)
    supported: bool = False
    unverified: bool = False
    """Not supported, but not contradicted or invented either as far as the check can tell (its probability
    is in the middle band): shown neutrally as "not verified", with `quote`, never as supported."""
    quote: str = ""
    """For an unverified sentence: the cited abstract's closest sentence, so the reader can judge."""


class Answer(BaseModel):
    """A checked answer: the text, per-sentence support, citations and the evidence it drew on."""

    answer: str
    refused: bool
    citations: list[Citation] = Field(default_factory=list)
    model: str = ""
    sentences: list[Sentence] = Field(default_factory=list)
    evidence: list[Hit] = Field(default_factory=list)
    removed_citations: list[int] = Field(default_factory=list)
    extractive: bool = False
    """True when the app quoted the answering abstract sentences because the model's draft was unusable."""
