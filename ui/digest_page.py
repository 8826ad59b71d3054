"""Weekly digest page: one week's papers grouped into topics, each with a cited, checked summary.

Calls `Assistant.digest` for a week that has papers and renders topics, what changed since the
previous week and the highlights (most upvoted, else most central papers); exports via `assistant.export`. The "For me" switch
puts the reader's top papers (`assistant.foryou`) first; every listed paper has a star.
"""

from __future__ import annotations

import streamlit as st

from assistant.chains.digest_types import Digest, DigestPaper, Topic
from assistant.foryou.personal_digest import PersonalDigest, personal_digest
from assistant.papers import Citation
from stars import foryou, paper_rows, profile_name
from uikit import (
    Runtime,
    download_buttons,
    md_escape,
    model_task,
    paper_link,
    render_sentences,
    runtime_or_stop,
    week_picker,
)

RESULT_KEY = "digest"
FOR_ME_K = 5  # papers in the "for you" section
EXTRACTION_HELP = (
    "How each paper is summarised before the topic summaries: `quick` picks abstract sentences "
    "(fast), `model` asks the model once per paper (slow with the local model, cached), `auto` "
    "is `quick` for the local model and `model` otherwise."
)
STATUS_BADGE = {"new": ":green-badge[new]", "grew": ":blue-badge[grew]", "shrank": ":gray-badge[shrank]"}


def paper_citations(topic: Topic) -> list[Citation]:
    """The topic's citations plus its papers, so every `[n]` in the summary can link."""
    known = {c.n for c in topic.citations}
    extra = [Citation(n=p.n, paper_id=p.paper_id, title=p.title, url=p.url, supported=True) for p in topic.papers]
    return [*topic.citations, *(c for c in extra if c.n not in known)]


def paper_line(p: DigestPaper) -> str:
    votes = f" · {p.upvotes} upvotes" if p.upvotes is not None else ""
    line = f" — {md_escape(p.takeaway)}" if p.takeaway else ""
    return f"- \\[{p.n}\\] {paper_link(p.title, p.url)}{votes}{line}"


def render_topic(i: int, topic: Topic) -> None:
    badge = STATUS_BADGE.get(topic.status or "", "")
    heading = md_escape(topic.title) if topic.other else f"{i}\\. {md_escape(topic.title)}"
    st.markdown(f"#### {heading} {badge}")
    if topic.keywords and ", ".join(topic.keywords).casefold() != topic.title.casefold():
        st.caption("Keywords: " + md_escape(", ".join(topic.keywords)))
    if topic.sentences:
        render_sentences(topic.sentences, paper_citations(topic))
    if topic.fallback:
        st.caption("Extractive summary: the model's summary did not pass the support check.")
    with st.expander(f"Papers ({len(topic.papers)})"):
        paper_rows([(p.paper_id, paper_line(p)) for p in topic.papers], f"digest{i}")


def render_change(digest: Digest) -> None:
    change = digest.new_vs_last_week
    if change is None:
        return
    if not change.previous_papers:
        st.caption(f"No papers are stored for the previous period ({md_escape(change.previous)}).")
        return
    appeared = md_escape(", ".join(change.appeared)) or "none"
    grew = md_escape(", ".join(f"{g.title} ({g.last_week} → {g.this_week})" for g in change.grew)) or "none"
    st.markdown(
        f"**New vs {md_escape(change.previous)}** ({change.previous_papers} papers) · "
        f"new topics: {appeared} · grew: {grew}"
    )


def render_digest(digest: Digest) -> None:
    topics = sum(not t.other for t in digest.topics)
    st.subheader(f"{digest.week}: {digest.n_papers} papers in {topics} topics")
    st.caption(
        f"Lists {digest.since} → {digest.until} · summaries by {md_escape(digest.model)} · "
        f"extraction: {digest.extraction} · {digest.model_calls} model calls"
    )
    if not digest.n_papers:
        st.info("No papers were listed in this period.", icon=":material/event_busy:")
        return
    render_change(digest)
    if digest.top_upvoted:
        with st.expander("Highlights" + (" (most upvoted)" if digest.highlights_by == "upvotes" else " (most central)")):
            st.markdown("\n".join(paper_line(p) for p in digest.top_upvoted))
    for i, topic in enumerate(digest.topics, start=1):
        render_topic(i, topic)
    download_buttons(digest, f"digest-{digest.week}")


def render_for_you(pd: PersonalDigest) -> None:
    st.subheader(f"For you ({pd.profile})")
    rows = [
        (it.paper_id, f"\\[{it.n}\\] {paper_link(it.title, it.url)}: {md_escape(it.takeaway)}  \n*Why:* "
         f"{md_escape('; '.join(it.reasons))}")
        for it in pd.items
    ]
    paper_rows(rows, "digest-foryou")


def run_digest(runtime: Runtime, week: str, topics: int, extract: str, for_me: bool = False) -> None:
    args = dict(week=week, topics=topics or None, extract=extract)

    def build() -> Digest | PersonalDigest:
        if for_me:
            return personal_digest(foryou(), FOR_ME_K, profile_name(), **args)
        return runtime.assistant.digest(**args)  # type: ignore[arg-type]

    label = f"Building the digest of {week}: grouping papers, then one model call per topic…"
    model_task(runtime, label, build, lambda _: f"Digest of {week} ready", "build the digest", RESULT_KEY)


def digest_page() -> None:
    runtime = runtime_or_stop()
    st.title("Weekly digest")
    left, mid, right = st.columns([2, 1, 1])
    week = week_picker(runtime.assistant, left, "digest_week", help="Weeks that have papers, newest first.")
    if week is None:
        return
    topics = mid.number_input("Topics (0 = auto)", min_value=0, max_value=30, value=0, key="digest_topics")
    extract = right.selectbox("Extraction", ["auto", "quick", "model"], key="digest_extract", help=EXTRACTION_HELP)
    for_me = st.toggle(
        "For me", key="digest_for_me", help=f"Start with your top {FOR_ME_K} papers (profile {profile_name()}), why, and a takeaway each."
    )
    if st.button("Build digest", type="primary", icon=":material/newspaper:", key="digest_go"):
        run_digest(runtime, str(week), int(topics), str(extract), for_me)
    result = st.session_state.get(RESULT_KEY)
    if isinstance(result, PersonalDigest):
        render_for_you(result)
        result = result.digest
    if result is not None:
        render_digest(result)


digest_page()
