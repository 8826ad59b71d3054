"""The personal feed as one object over an `Assistant`: profile edits, the ranked feed, the personal digest.

The CLI's `follow/star/feed/profile` commands and the UI's For-you page call these and only render.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import InputError
from assistant.foryou.profile import DEFAULT_PROFILE, Profile, check_name, profile_from_json, profile_to_json
from assistant.foryou.rank import MIN_STARS_FOR_CLASSIFIER, Ranked, rank
from assistant.papers import Paper, clean_arxiv_id

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.store.profiles import ProfileTable

HOW_TO_START = (
    'follow a topic (assistant follow "speculative decoding"), an author (assistant follow --author "Tri Dao") '
    "or star papers you liked (assistant star 2406.01234)"
)


@dataclass
class Feed:
    """A period's papers ranked for one profile (the top `k`)."""

    profile: str
    period: str
    since: str
    until: str
    n_papers: int
    mode: str
    items: list[Ranked] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {
            "profile": self.profile, "period": self.period, "since": self.since, "until": self.until,
            "papers": self.n_papers, "mode": self.mode, "items": [r.to_json() for r in self.items],
        }


def ranking_mode(profile: Profile) -> str:
    """What drives the ranking, in words (cold start or the classifier)."""
    if len(profile.stars) >= MIN_STARS_FOR_CLASSIFIER:
        return "classifier on your stars + topics + authors"
    if profile.stars:
        return f"closest stars + topics + authors (the classifier starts at {MIN_STARS_FOR_CLASSIFIER} stars)"
    return "cold start: followed topics and authors"


class ForYou:
    """Profile edits and personal ranking over one assistant's store and embedder."""

    def __init__(self, app: Assistant) -> None:
        self.app = app

    @property
    def profiles(self) -> ProfileTable:
        """The stored profile documents (names, delete); `profile` and `save` read and write them."""
        return self.app.store.profiles

    def profile(self, name: str = DEFAULT_PROFILE) -> Profile:
        """The stored profile `name` (migrated if older), or an empty one of that name."""
        check_name(name)
        document = self.profiles.get(name)
        if document is None:
            return Profile(name=name)
        profile = profile_from_json(document, source=f"stored profile {name!r} in {self.profiles.where}")
        profile.name = name
        return profile

    def save(self, profile: Profile) -> None:
        self.profiles.put(check_name(profile.name), profile_to_json(profile))

    def follow(self, topics: Sequence[str] = (), authors: Sequence[str] = (), name: str = DEFAULT_PROFILE) -> list[str]:
        profile = self.profile(name)
        added = profile.follow(list(topics), list(authors))
        self.save(profile)
        return added

    def unfollow(self, topics: Sequence[str] = (), authors: Sequence[str] = (), name: str = DEFAULT_PROFILE) -> list[str]:
        profile = self.profile(name)
        removed = profile.unfollow(list(topics), list(authors))
        self.save(profile)
        return removed

    def resolve_ids(self, raw_ids: Sequence[str]) -> dict[str, Paper]:
        """Stored papers for ids as typed (arXiv ids, `arXiv:` forms, abs/pdf links); unknown ones are an InputError."""
        wanted = {raw: clean_arxiv_id(raw) or raw.strip() for raw in raw_ids}
        found = self.app.store.get_papers(wanted.values())
        unknown = [raw for raw, pid in wanted.items() if pid not in found]
        if unknown:
            raise InputError(
                f"unknown paper id{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: not in the store "
                "(find ids with `assistant search QUERY`); nothing was changed"
            )
        return {pid: found[pid] for pid in wanted.values()}

    def star(self, ids: Sequence[str], name: str = DEFAULT_PROFILE, not_interested: bool = False) -> list[str]:
        """Star papers (or mark them "not interested"); all ids must be stored, else nothing changes."""
        papers = self.resolve_ids(ids)
        profile = self.profile(name)
        added = profile.mark({pid: p.title for pid, p in papers.items()}, not_interested)
        self.save(profile)
        return added

    def unstar(self, ids: Sequence[str], name: str = DEFAULT_PROFILE, not_interested: bool = False) -> list[str]:
        profile = self.profile(name)
        wanted = [clean_arxiv_id(i) or i.strip() for i in ids]
        gone = profile.unmark(wanted, not_interested)
        missing = [i for i in wanted if i not in gone]
        if missing:
            kind = "marked not interested" if not_interested else "starred"
            raise InputError(f"not {kind} in profile {name!r}: {', '.join(missing)}; nothing was changed")
        self.save(profile)
        return gone

    def export(self, name: str = DEFAULT_PROFILE) -> str:
        return profile_to_json(self.profile(name))

    def import_(self, text: str, name: str | None = None, source: str = "profile file") -> Profile:
        """Store a profile document (any known version) under its own name or `name`; replaces that profile."""
        profile = profile_from_json(text, source)
        if name:
            profile.name = name
        self.save(profile)
        return profile

    def vectors(self, papers: Sequence[Paper]) -> dict[str, np.ndarray]:
        """Stored paper vectors; papers without stored chunks are embedded now (title + abstract)."""
        vecs = self.app.store.paper_vectors([p.paper_id for p in papers])
        missing = [p for p in papers if p.paper_id not in vecs]
        if missing:
            for p, v in zip(missing, self.app.embedder.embed([p.text for p in missing])):
                vecs[p.paper_id] = v
        return vecs

    def rank_papers(self, papers: Sequence[Paper], profile: Profile) -> list[Ranked]:
        """All of `papers` ranked for `profile` (stars and "not interested" papers left out)."""
        if profile.empty:
            raise InputError(f"profile {profile.name!r} is empty, so there is nothing to rank by: {HOW_TO_START}")
        marked = profile.star_ids + [s.paper_id for s in profile.not_interested]
        marked_vecs = self.app.store.paper_vectors(marked) if marked else {}
        topic_vecs = self.app.embedder.embed(profile.topics) if profile.topics else None
        return rank(
            papers, self.vectors(papers), profile,
            {i: marked_vecs[i] for i in profile.star_ids if i in marked_vecs}, topic_vecs,
            {i: marked_vecs[i] for i in profile.hidden_ids if i in marked_vecs},
        )

    def feed(
        self, week: str | None = None, since: str | None = None, until: str | None = None, k: int = 10,
        name: str = DEFAULT_PROFILE, today: date | None = None,
    ) -> Feed:
        """The period's papers ranked for profile `name` (default period: the latest complete week)."""
        from assistant.periods import resolve_period

        profile = self.profile(name)
        if profile.empty:
            raise InputError(f"profile {name!r} is empty, so there is nothing to rank by: {HOW_TO_START}")
        period = resolve_period(self.app.store, week or (None if since or until else "last"), since, until, today)
        ids = sorted(self.app.store.ids_between(period.since, period.until))
        papers = list(self.app.store.get_papers(ids).values())
        ranked = self.rank_papers(papers, profile)
        return Feed(name, period.label, period.since, period.until, len(papers), ranking_mode(profile), ranked[:k])
