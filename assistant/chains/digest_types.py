"""The digest's data: papers as listed (numbered for `[n]`), topics and the whole digest.

Built by `chains.digest.build_digest`; rendered by `export.py` and `ui/digest_page.py`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.chains.support import Dropped
from assistant.chains.week_diff import WeekChange
from assistant.papers import Citation, Sentence


class DigestPaper(BaseModel):
    """A paper as listed in a digest: its number `n` (what `[n]` cites) and how to find it."""

    n: int
    paper_id: str
    title: str
    url: str | None = None
    upvotes: int | None = None
    dates: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    published: str | None = None
    takeaway: str = ""  # one checked line: what the paper does or finds (`chains.takeaway`)
    hf_summary: str | None = None  # HF's machine-written one-liner, when the source had one


class Topic(BaseModel):
    """One topic group: title, keywords, a checked summary of at most 3 sentences, its papers."""

    title: str
    keywords: list[str] = Field(default_factory=list)
    summary: str = ""
    sentences: list[Sentence] = Field(default_factory=list)
    dropped: list[Dropped] = Field(default_factory=list)  # summary sentences left out, and why (JSON only)
    citations: list[Citation] = Field(default_factory=list)
    papers: list[DigestPaper] = Field(default_factory=list)
    other: bool = False
    fallback: bool = False  # the summary is the app's extractive one (the model's had no supported sentence)
    status: str | None = None  # vs the previous period: new | grew | steady | shrank



class Digest(BaseModel):
    """The result of `assistant digest`; `to_json()` is the CLI's JSON document."""

    week: str
    since: str
    until: str
    n_papers: int
    topics: list[Topic] = Field(default_factory=list)
    new_vs_last_week: WeekChange | None = None
    top_upvoted: list[DigestPaper] = Field(default_factory=list)  # the highlights (see `highlights_by`)
    highlights_by: str = "upvotes"  # upvotes | centrality (the source had no votes)
    model: str = ""
    extraction: str = "quick"
    model_calls: int = 0

    @property
    def all_papers(self) -> list[DigestPaper]:
        return sorted((p for t in self.topics for p in t.papers), key=lambda p: p.n)

    def to_json(self) -> dict[str, object]:
        return {
            "week": self.week,
            "since": self.since,
            "until": self.until,
            "papers": self.n_papers,
            "topics": [
                {
                    "title": t.title,
                    "summary": t.summary,
                    "citations": [c.model_dump() for c in t.citations],
                    "keywords": t.keywords,
                    "other": t.other,
                    "status": t.status,
                    "fallback": t.fallback,
                    "sentences": [s.model_dump() for s in t.sentences],
                    "dropped": [d.model_dump() for d in t.dropped],
                    "papers": [p.model_dump(exclude={"authors", "published"}) for p in t.papers],
                }
                for t in self.topics
            ],
            "new_vs_last_week": self.new_vs_last_week.model_dump() if self.new_vs_last_week else None,
            "top_upvoted": [
                p.model_dump(include={"n", "paper_id", "title", "url", "upvotes", "takeaway"}) for p in self.top_upvoted
            ],
            "highlights_by": self.highlights_by,
            "model": self.model,
            "extraction": self.extraction,
            "model_calls": self.model_calls,
        }

