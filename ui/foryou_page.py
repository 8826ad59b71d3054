"""For-you page: choose a profile, follow topics and authors, see the week ranked for you with reasons.

Calls `assistant.foryou.service.ForYou` and only renders; stars are toggled with the same button
as on every other page (`stars.py`).
"""

from __future__ import annotations

import streamlit as st

from assistant.foryou.profile import DEFAULT_PROFILE
from assistant.foryou.service import HOW_TO_START
from stars import PROFILE_KEY, foryou, paper_rows, profile_name
from uikit import md_escape, paper_link, show_error, week_picker


def choose_profile() -> None:
    names = sorted({DEFAULT_PROFILE, *foryou().profiles.names(), profile_name()})
    left, right = st.columns([2, 2])
    chosen = left.selectbox("Profile", names, index=names.index(profile_name()), key="foryou_pick")
    new = right.text_input("…or a new profile", placeholder="e.g. work", key="foryou_new").strip()
    st.session_state[PROFILE_KEY] = new or chosen


def edit_profile() -> None:
    name = profile_name()
    profile = foryou().profile(name)
    with st.form("foryou_follow", clear_on_submit=True):
        left, right = st.columns(2)
        topic = left.text_input("Follow a topic", placeholder="e.g. speculative decoding", key="foryou_topic")
        author = right.text_input("Follow an author", placeholder="e.g. Tri Dao", key="foryou_author")
        if st.form_submit_button("Follow", icon=":material/add:") and (topic.strip() or author.strip()):
            try:
                foryou().follow([topic] if topic.strip() else [], [author] if author.strip() else [], name)
            except Exception as exc:  # noqa: BLE001 - shown by show_error
                show_error(exc, "follow")
            st.rerun()
    for kind, items in (("topic", profile.topics), ("author", profile.authors)):
        if items:
            cols = st.columns(min(len(items), 4))
            for i, item in enumerate(items):
                if cols[i % len(cols)].button(f"✕ {item}", key=f"unfollow-{kind}-{item}", help=f"Stop following this {kind}"):
                    foryou().unfollow([item] if kind == "topic" else [], [item] if kind == "author" else [], name)
                    st.rerun()
    if profile.stars:
        with st.expander(f"Starred papers ({len(profile.stars)})"):
            paper_rows([(s.paper_id, md_escape(s.title or s.paper_id)) for s in profile.stars], "profile")
    st.download_button(
        "Export profile (JSON)", foryou().export(name), file_name=f"profile-{name}.json", mime="application/json",
        icon=":material/download:", key="foryou_export",
    )


def show_feed(week: str, k: int) -> None:
    try:
        feed = foryou().feed(week=week, k=k, name=profile_name())
    except Exception as exc:  # noqa: BLE001 - shown by show_error
        show_error(exc, "rank the papers")
        return
    st.subheader(f"{feed.period}: top {len(feed.items)} of {feed.n_papers} papers")
    st.caption(f"Ranked by {feed.mode}.")
    rows = []
    for n, item in enumerate(feed.items, start=1):
        p = item.paper
        votes = f" · {p.upvotes} upvotes" if p.upvotes is not None else ""
        why = md_escape("; ".join(item.reasons))
        rows.append((p.paper_id, f"{n}\\. {paper_link(p.title, p.link)}{votes}  \n*Why:* {why}"))
    paper_rows(rows, "feed")


def foryou_page() -> None:
    st.title("For you")
    choose_profile()
    edit_profile()
    profile = foryou().profile(profile_name())
    if profile.empty:
        st.info(f"This profile is empty. To start: {HOW_TO_START} — or star papers on the other pages.",
                icon=":material/person:")
        return
    left, right = st.columns([3, 1])
    week = week_picker(foryou().app, left, "foryou_week")
    if week is None:
        return
    k = right.number_input("Papers", min_value=1, max_value=100, value=10, key="foryou_k")
    show_feed(str(week), int(k))


foryou_page()
