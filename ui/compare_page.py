"""Compare page: 2-6 papers side by side (problem, method, data, result) with a cited summary.

Calls `Assistant.compare` with a topic or paper ids and renders its checked table and summary;
quoted cells and ⚠ sentences come from the chain's support check. Exports via `assistant.export`.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from assistant.chains.compare import MAX_PAPERS, MIN_PAPERS, Comparison
from uikit import (
    Runtime,
    table_md,
    download_buttons,
    md_escape,
    render_sentences,
    runtime_or_stop,
    model_task,
    sources_md,
)

RESULT_KEY = "comparison"


def render_comparison(comparison: Comparison) -> None:
    if comparison.query:
        st.caption(f"Papers chosen for: {md_escape(comparison.query)}")
    st.subheader("Summary")
    render_sentences(comparison.sentences, comparison.citations)
    if comparison.fallback:
        st.caption("The model's comparison did not pass the support check; this summary is built from the abstracts.")
    st.subheader("Side by side")
    st.markdown(table_md(comparison))
    st.caption("Quoted cells are abstract sentences, shown where an extracted phrase was not supported.")
    st.markdown("**Papers**\n\n" + sources_md(comparison.citations))
    st.caption(f"Model: {md_escape(comparison.model)}")
    download_buttons(comparison, "comparison")


def run_compare(runtime: Runtime, items: list[str], n: int, since: dt.date | None, until: dt.date | None) -> None:
    label = f"Comparing papers ({n} at most): one short model call per paper, then one to compose…"
    period = {"since": since.isoformat() if since else None, "until": until.isoformat() if until else None}

    def compared() -> Comparison:
        return runtime.assistant.compare(items, n=n, **period)

    model_task(runtime, label, compared, lambda r: f"Compared {len(r.table)} papers", "compare the papers", RESULT_KEY)


def compare_page() -> None:
    runtime = runtime_or_stop()
    st.title("Compare papers")
    text = st.text_input(
        "A topic, or 2 to 6 paper ids",
        placeholder="e.g. semi-supervised learning   or   2406.01234 2406.05678",
        key="compare_items",
    )
    a, b, c = st.columns([2, 2, 2])
    n = a.slider("Papers (for a topic)", MIN_PAPERS, MAX_PAPERS, 4, key="compare_n")
    since = b.date_input("Listed since", value=None, key="compare_since")
    until = c.date_input("Listed until", value=None, key="compare_until")
    go = st.button(
        "Compare", type="primary", icon=":material/compare_arrows:", disabled=not text.strip(), key="compare_go"
    )
    if go:
        run_compare(runtime, text.split(), int(n), since, until)
    if RESULT_KEY in st.session_state:
        render_comparison(st.session_state[RESULT_KEY])


compare_page()
