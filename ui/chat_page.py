"""Chat page: ask questions about the ingested papers, with follow-ups.

Calls `Assistant.ask_stream` and renders its events as they come: the retrieved papers at once,
then the streamed draft, then the checked answer (linked citations, ⚠ on unsupported sentences).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import streamlit as st

from assistant.errors import AssistantError
from assistant.papers import Answer, Hit, Turn
from stars import render_evidence
from uikit import Runtime, md_escape, render_answer, runtime_or_stop, start_model, table_md

if TYPE_CHECKING:
    from assistant.chains.compare import Comparison

log = logging.getLogger(__name__)

HISTORY_KEY = "chat_turns"


@dataclass
class Exchange:
    """One question and what came back (kept in session state to redraw the conversation)."""

    question: str
    query: str | None = None  # the standalone query, when a follow-up was rewritten
    hits: list[Hit] = field(default_factory=list)
    answer: Answer | None = None
    comparison: Comparison | None = None  # "compare X and Y": the comparison chain's cited table
    error: str | None = None


def turns() -> list[Exchange]:
    return st.session_state.setdefault(HISTORY_KEY, [])


def history_pairs(done: list[Exchange]) -> list[Turn]:
    """The conversation so far as the pipeline's turns, for follow-up questions."""
    pairs: list[Turn] = []
    for turn in done:
        if turn.answer is not None:
            pairs += [("user", turn.question), ("assistant", turn.answer.answer)]
    return pairs


def render_turn(turn: Exchange, latest: bool = False, key: str = "ev") -> None:
    with st.chat_message("user"):
        st.markdown(md_escape(turn.question))
    with st.chat_message("assistant"):
        if turn.query:
            st.caption(f"Searched for: {md_escape(turn.query)}")
        if turn.hits or turn.answer is not None:
            render_evidence(turn.hits, expanded=latest, key=key)
        if turn.answer is not None:
            render_answer(turn.answer)
        render_table(turn)
        if turn.error:
            st.error(md_escape(turn.error), icon=":material/error:")


def render_table(turn: Exchange) -> None:
    if turn.comparison is not None and turn.comparison.table:
        st.markdown("**Side by side**")
        st.markdown(table_md(turn.comparison))
        st.caption("Quoted cells are abstract sentences, shown where an extracted phrase was not supported.")


def answer_question(runtime: Runtime, turn: Exchange, history: list[Turn], key: str = "ev") -> None:
    """Run one question, drawing each event as it arrives; fills `turn` for later redraws."""
    query_slot, evidence_slot, status_slot, wait_slot, draft_slot = (st.empty() for _ in range(5))
    evidence_slot.caption(
        ":material/search: Rewriting the follow-up as a standalone question, then searching the papers…"
        if history
        else ":material/search: Searching the papers…"
    )

    def tokens() -> Iterator[str]:
        drafting = False
        for kind, value in runtime.assistant.ask_stream(turn.question, history):
            if kind == "query":
                turn.query = value
                query_slot.caption(f"Searched for: {md_escape(value)}")
                evidence_slot.caption(":material/search: Searching the papers…")
            elif kind == "evidence":
                turn.hits = list(value.hits)
                with evidence_slot.container():
                    render_evidence(turn.hits, expanded=True, key=key)
            elif kind == "model":  # the evidence answers the question: the model drafts the answer
                start_model(runtime, status_slot)
                wait_slot.caption(":material/edit_note: Drafting the answer…")
            elif kind == "token":
                if not drafting:
                    wait_slot.caption(":material/edit_note: Draft: its citations are checked when it is complete.")
                    drafting = True
                yield md_escape(value, strip=False)  # the raw draft is shown as text, never as markup
            elif kind == "checking":  # the model declined: it is asked whether the best paper answers (seconds)
                wait_slot.caption(f":material/fact_check: Asking the model whether “{md_escape(value)}” answers the question…")
            elif kind == "comparison":
                turn.comparison = value
            elif kind == "answer":
                turn.answer = value

    try:
        with draft_slot.container():
            st.write_stream(tokens())
    except AssistantError as exc:
        turn.error = f"Could not answer: {exc}"
    except Exception as exc:  # the UI edge: log it, show one line, never a traceback
        log.exception("unexpected error while answering %r", turn.question)
        turn.error = f"Could not answer: unexpected {type(exc).__name__}: {exc}. The server log has the details."
    wait_slot.empty()
    if turn.answer is None and not turn.hits:
        evidence_slot.empty()  # failed before the search finished: drop the "Searching…" line
    with draft_slot.container():
        if turn.answer is not None:
            render_answer(turn.answer)
        render_table(turn)
        if turn.error:
            st.error(md_escape(turn.error), icon=":material/error:")


def chat_page() -> None:
    runtime = runtime_or_stop()
    st.title("Ask the papers")
    st.caption("Answers cite the retrieved abstracts as [n]; hover a citation to see the paper.")
    done = turns()
    for i, turn in enumerate(done):
        render_turn(turn, latest=i == len(done) - 1, key=f"ev{i}")
    question = st.chat_input("Ask about the ingested papers…")
    if question:
        history = history_pairs(done)
        turn = Exchange(question=question)
        done.append(turn)
        with st.chat_message("user"):
            st.markdown(md_escape(question))
        with st.chat_message("assistant"):
            answer_question(runtime, turn, history, key=f"ev{len(done) - 1}")
    if done:
        st.button("Clear conversation", icon=":material/delete_sweep:", key="clear_chat", on_click=done.clear)
    else:
        st.info(
            "Ask a question, e.g. *Which papers use semi-supervised learning for text spotting?*",
            icon=":material/chat:",
        )

chat_page()
