"""A reader's profile: followed topics and authors, starred and "not interested" papers.

Profiles are plain data; the store keeps them (one JSON document per named profile) and
`export`/`import` move them between data dirs as one JSON file. Starred papers carry their
title so reasons can name them after an import into a store that lacks the paper.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from pydantic import BaseModel, Field, ValidationError

from assistant.errors import InputError

PROFILE_VERSION = 2  # 1: stars were bare paper ids; 2: stars are {paper_id, title, starred_at}
DEFAULT_PROFILE = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def now() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Star(BaseModel):
    paper_id: str
    title: str = ""
    starred_at: str = Field(default_factory=now)


class Profile(BaseModel):
    """What the ranking knows about one reader."""

    name: str = DEFAULT_PROFILE
    version: int = PROFILE_VERSION
    topics: list[str] = Field(default_factory=list)
    authors: list[str] = Field(default_factory=list)
    stars: list[Star] = Field(default_factory=list)
    not_interested: list[Star] = Field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.topics or self.authors or self.stars)

    @property
    def star_ids(self) -> list[str]:
        return [s.paper_id for s in self.stars]

    @property
    def hidden_ids(self) -> set[str]:
        return {s.paper_id for s in self.not_interested}

    def follow(self, topics: list[str] = (), authors: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """Add topics/authors (case-insensitive duplicates ignored); returns what was new."""
        added = []
        for items, target in ((topics, self.topics), (authors, self.authors)):
            known = {t.casefold() for t in target}
            for raw in items:
                item = " ".join(raw.split())
                if not item:
                    raise InputError("an empty topic or author name cannot be followed")
                if item.casefold() not in known:
                    target.append(item)
                    known.add(item.casefold())
                    added.append(item if target is self.topics else f"author {item}")
        return added

    def unfollow(self, topics: list[str] = (), authors: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """Remove topics/authors; an unknown one is an InputError naming what is followed."""
        removed = []
        for items, target, kind in ((topics, self.topics, "topic"), (authors, self.authors, "author")):
            for raw in items:
                key = " ".join(raw.split()).casefold()
                match = [t for t in target if t.casefold() == key]
                if not match:
                    have = ", ".join(repr(t) for t in target) or "none"
                    raise InputError(f"{kind} {raw!r} is not followed in profile {self.name!r} (followed: {have})")
                target.remove(match[0])
                removed.append(match[0] if kind == "topic" else f"author {match[0]}")
        return removed

    def mark(self, papers: dict[str, str], not_interested: bool = False) -> list[str]:
        """Star (or mark "not interested") papers given as {id: title}; a paper is never both."""
        target, other = (self.not_interested, self.stars) if not_interested else (self.stars, self.not_interested)
        have = {s.paper_id for s in target}
        other[:] = [s for s in other if s.paper_id not in papers]
        added = [pid for pid in papers if pid not in have]
        target.extend(Star(paper_id=pid, title=papers[pid]) for pid in added)
        return added

    def unmark(self, ids: list[str], not_interested: bool = False) -> list[str]:
        """Remove stars (or "not interested" marks); returns the ids that were marked."""
        target = self.not_interested if not_interested else self.stars
        gone = [s.paper_id for s in target if s.paper_id in set(ids)]
        target[:] = [s for s in target if s.paper_id not in set(ids)]
        return gone


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InputError(
            f"profile name {name!r} is not valid: use letters, digits, '_', '.' or '-' (up to 64, e.g. 'work')"
        )
    return name


def migrate(data: dict) -> dict:
    """Bring a stored or exported profile document to the current version."""
    version = data.get("version", 1)
    if not isinstance(version, int) or version > PROFILE_VERSION:
        raise InputError(
            f"profile version {version!r} is newer than this assistant understands ({PROFILE_VERSION}); upgrade it"
        )
    if version == 1:
        data = dict(data)
        for key in ("stars", "not_interested"):
            data[key] = [{"paper_id": s, "title": ""} if isinstance(s, str) else s for s in data.get(key) or []]
        data["version"] = 2
    return data


def profile_from_json(text: str, source: str = "profile") -> Profile:
    """Parse a profile document (any known version); errors name the source and the field."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not JSON: {exc.msg} at line {exc.lineno}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{source} must be one JSON object with topics, authors and stars")
    try:
        profile = Profile.model_validate(migrate(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise InputError(f"{source}: field {where!r}: {err['msg']}") from exc
    check_name(profile.name)
    return profile


def profile_to_json(profile: Profile) -> str:
    return profile.model_dump_json(indent=2)
