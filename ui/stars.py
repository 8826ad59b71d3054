"""The star on every paper (search results, evidence, library, digest, For you) and the UI's current profile.

A star is a toggle button beside the paper's line; clicking it stars or unstars the paper in the
profile chosen on the For-you page (the default profile until one is chosen).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from assistant.foryou.profile import DEFAULT_PROFILE
from assistant.foryou.service import ForYou
from assistant.papers import Hit
from uikit import hit_line, runtime_or_stop

PROFILE_KEY = "foryou_profile"
MESSAGE_KEY = "star_message"


def profile_name() -> str:
    return str(st.session_state.get(PROFILE_KEY) or DEFAULT_PROFILE)


def foryou() -> ForYou:
    return ForYou(runtime_or_stop().assistant)


def _toggle(paper_id: str, starred: bool) -> None:
    try:
        if starred:
            foryou().unstar([paper_id], profile_name())
        else:
            foryou().star([paper_id], profile_name())
    except Exception as exc:  # noqa: BLE001 - shown as one line on the next run, never a traceback
        st.session_state[MESSAGE_KEY] = f"Could not change the star: {exc}"


def starred_ids() -> set[str]:
    try:
        return set(foryou().profile(profile_name()).star_ids)
    except Exception:  # noqa: BLE001 - a broken profile shows on the For-you page; lists still render
        return set()


def star_button(paper_id: str, key: str, starred: set[str]) -> None:
    on = paper_id in starred
    st.button(
        "★" if on else "☆", key=f"star-{key}-{paper_id}", on_click=_toggle, args=(paper_id, on),
        help=f"Unstar (profile {profile_name()})" if on else f"Star: the For-you feed learns from it (profile {profile_name()})",
    )


def paper_rows(rows: Sequence[tuple[str, str]], key: str) -> None:
    """(paper_id, Markdown line) rows, each with its star button."""
    if message := st.session_state.pop(MESSAGE_KEY, None):
        st.error(message, icon=":material/error:")
    starred = starred_ids()
    for paper_id, line in rows:
        left, right = st.columns([1, 14], vertical_alignment="center")
        with left:
            star_button(paper_id, key, starred)
        right.markdown(line)


def hit_rows(hits: Sequence[Hit], key: str, takeaways: dict[str, str] | None = None) -> None:
    rows = [(h.paper.paper_id, hit_line(n, h, (takeaways or {}).get(h.paper.paper_id))) for n, h in enumerate(hits, start=1)]
    paper_rows(rows, key)


def render_evidence(hits: Sequence[Hit], expanded: bool, key: str = "evidence") -> None:
    """The retrieved papers, in an expander, numbered as the model sees them, each with its star."""
    label = f"Retrieved papers ({len(hits)})" if hits else "Retrieved papers (none)"
    with st.expander(label, expanded=expanded, icon=":material/library_books:"):
        if hits:
            hit_rows(hits, key)
        else:
            st.caption("No ingested paper matches this question. Add papers on the Library page.")
