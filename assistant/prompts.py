"""Prompt templates live as text files in `prompts/` (shipped in the wheel); this module loads and checks them.

A file holds a system part and a user part separated by a line `## user`. Variables are
`{name}` fields; loading fails with a PromptError when a file's variables differ from what
the calling chain supplies, so a typo never renders a blank into a prompt.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from assistant.errors import PromptError
from assistant.resources import resource_dir

PROMPTS_DIR = resource_dir("prompts")
USER_MARK = "## user"

#: What the model must reply when the evidence does not answer the question.
CANNOT_ANSWER = "NOT_IN_PAPERS"

_DECLINE = re.compile(CANNOT_ANSWER.replace("_", r"[\s_]*"), re.IGNORECASE)
"""The decline token however the model spaces or cases it ("Not in papers", "NOT_IN_PAPERS")."""


def declines(text: str) -> bool:
    """Whether a model reply contains the decline token."""
    return bool(_DECLINE.search(text))


def without_decline(text: str) -> str:
    """A reply minus its decline token: a draft may hedge with it and still state a checkable claim."""
    return _DECLINE.sub(" ", text).strip(" .:;,-\n")


def variables_of(text: str) -> set[str]:
    """The `{name}` fields of a template (`{{` and `}}` are literal braces)."""
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@lru_cache(maxsize=32)
def load_prompt(name: str, expected: frozenset[str], prompts_dir: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    """Load `prompts/<name>.md` as a chat prompt whose variables must be exactly `expected`."""
    path = prompts_dir / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"prompt {name!r} not found at {path}; restore it from the repository") from exc
    if USER_MARK not in text:
        raise PromptError(f"prompt {name!r} ({path}) has no '{USER_MARK}' line separating system and user parts")
    system, user = (part.strip() for part in text.split(USER_MARK, 1))
    try:
        found = variables_of(system) | variables_of(user)
    except ValueError as exc:
        raise PromptError(f"prompt {name!r} ({path}) has unbalanced braces: {exc}") from exc
    if found != set(expected):
        unknown, missing = sorted(found - expected), sorted(expected - found)
        raise PromptError(
            f"prompt {name!r} uses unknown variables {unknown} and lacks {missing}; "
            f"it must use exactly {sorted(expected)}"
        )
    return ChatPromptTemplate.from_messages([("system", system), ("human", user)])
