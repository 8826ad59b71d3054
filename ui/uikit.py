"""Shared pieces of the Streamlit pages: the one `Assistant` per server process and safe rendering.

Imported by `ui/app.py` and every page script. Renders paper text only through escaped Markdown
(never `unsafe_allow_html`), turns `[n]` markers into links, and shows every failure as an `st.error`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote, quote_plus, urlsplit

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from assistant.citations import CITE_RE, parse_citations
from assistant.config import load_settings
from assistant.errors import AssistantError
from assistant.papers import Answer, Citation, Hit, Paper, Sentence
from assistant.service import Assistant

if TYPE_CHECKING:
    from assistant.chains.compare import Cell, Comparison
    from assistant.chains.digest_types import Digest

log = logging.getLogger(__name__)

LOADING_LABEL = "Loading the local model (first question only)…"
EXPORTS = {
    "md": ("Markdown", "text/markdown"),
    "html": ("HTML", "text/html"),
    "json": ("JSON", "application/json"),
    "bib": ("BibTeX", "application/x-bibtex"),
}
ARXIV_TITLE_SEARCH = "https://arxiv.org/search/?searchtype=title&query="
UNSUPPORTED_NOTE = "⚠ marks a sentence not supported by the cited abstract: check the paper before relying on it."
UNVERIFIED_CAPTION = ("Grey sentences could not be verified against the cited abstract (they may be right, in other "
                      "words): the abstract's closest sentence is quoted after each.")


# --- the shared assistant ----------------------------------------------------------------------


@dataclass
class Runtime:
    """What all sessions of one server process share."""

    assistant: Assistant
    model_ready: bool = False  # True once the chat model has been started (first answer)


def _release(runtime: Runtime) -> None:
    runtime.assistant.close()


def _new_runtime() -> Runtime:
    return Runtime(Assistant(load_settings()))


_prewarm: Future[Runtime] | None = None


def prewarm() -> Future[Runtime]:
    """Open the store in a background thread at server start (`assistant ui`), before any browser asks.

    The browser spends a while loading Streamlit's front end; meanwhile the paper table and the
    model label (what the status sidebar shows) get ready, and the first session's
    `get_runtime` takes the result; Chroma opens next, while the page renders. A failure is left
    for that session to report (it builds the runtime again and shows the error). Returns the
    runtime to come, ready once its paper table is open.
    """
    global _prewarm
    warm: Future[Runtime] = Future()

    def work() -> None:
        try:
            runtime = _new_runtime()
            runtime.assistant.stats(vectors=False)
            runtime.assistant.model_label  # noqa: B018
        except Exception as exc:  # noqa: BLE001 - reported by the first session instead
            log.debug("prewarm failed", exc_info=True)
            warm.set_exception(exc)
            return
        warm.set_result(runtime)
        try:
            runtime.assistant.store.chunk_total()  # opens Chroma before the first search needs it
        except Exception:  # noqa: BLE001 - the first search reports it
            log.debug("prewarm: opening the vectors failed", exc_info=True)

    _prewarm = warm
    threading.Thread(target=work, name="prewarm", daemon=True).start()
    return warm


@st.cache_resource(show_spinner="Opening the paper store…", on_release=_release)
def get_runtime() -> Runtime:
    """One `Assistant(load_settings())` per server process, shared by every session (prewarmed if started so)."""
    global _prewarm
    warm, _prewarm = _prewarm, None  # taken once: after a cache clear (which closes it) a fresh runtime is built
    if warm is not None:
        try:
            return warm.result(timeout=120)
        except Exception:  # noqa: BLE001 - built again below, which shows the error to the user
            log.debug("prewarmed runtime unavailable", exc_info=True)
    return _new_runtime()


def runtime_or_stop() -> Runtime:
    """The shared runtime, or an error with the fix and a stopped page."""
    try:
        return get_runtime()
    except AssistantError as exc:
        st.error(md_escape(f"The assistant could not start: {exc}"))
    except Exception as exc:  # the UI edge: a traceback helps nobody here
        log.exception("assistant failed to start")
        st.error(md_escape(f"The assistant could not start ({type(exc).__name__}: {exc}). Check the settings (ASSISTANT_*)."))
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def show_error(exc: BaseException, doing: str) -> None:
    """An `st.error` with the assistant's actionable message; unexpected errors are logged, not dumped."""
    if isinstance(exc, AssistantError):
        st.error(md_escape(f"Could not {doing}: {exc}"), icon=":material/error:")
    else:
        log.exception("unexpected error while trying to %s", doing)
        st.error(
            md_escape(f"Could not {doing}: unexpected {type(exc).__name__}: {exc}. The server log has the details."),
            icon=":material/error:",
        )


# --- safe Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|$~:&=^])")
_WS = re.compile(r"\s+")


def md_escape(text: str, strip: bool = True) -> str:
    """Paper or model text as literal Markdown: no markup, no math, no HTML, one line."""
    text = _WS.sub(" ", text)
    return _MD_SPECIAL.sub(r"\\\1", text.strip() if strip else text)


def code_text(text: str) -> str:
    """Text for an inline code span: shown literally as long as it holds no backtick and no line break."""
    return _WS.sub(" ", text).replace("`", "'")


def safe_url(url: str | None) -> str | None:
    """`url` if it is an http(s) link, quoted so it cannot break a Markdown link; else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return quote(url.strip(), safe=":/?#@!$&'*+,;=%~")


def _hover(title: str) -> str:
    return _WS.sub(" ", title).replace("\\", "\\\\").replace('"', '\\"').strip()


def paper_href(title: str, url: str | None) -> str:
    """Where a click on a paper goes: its own http(s) link, else an arXiv title search (page lists have no ids)."""
    return safe_url(url) or ARXIV_TITLE_SEARCH + quote_plus(_WS.sub(" ", title).strip())


def paper_link(title: str, url: str | None) -> str:
    """`[Title](url "Title")` with the title escaped."""
    href = paper_href(title, url)
    text = md_escape(title) or "untitled"
    return f'[{text}]({href} "{_hover(title)}")'


def cite_link(n: int, by_n: dict[int, Citation]) -> str:
    """`[[n]](url "Title")` for a resolved citation; a plain `[n]` for an unknown number."""
    cit = by_n.get(n)
    if cit is None:
        return f"\\[{n}\\]"
    return f'[\\[{n}\\]]({paper_href(cit.title, cit.url)} "{_hover(cit.title)}")'


def linkify(text: str, citations: Sequence[Citation]) -> str:
    """Escape `text` and turn its `[n]` markers into links to the cited papers."""
    by_n = {c.n: c for c in citations}
    out: list[str] = []
    pos = 0
    for m in CITE_RE.finditer(text):
        out.append(md_escape(text[pos : m.start()], strip=False))
        out.append("".join(cite_link(n, by_n) for n in parse_citations(m.group())))
        pos = m.end()
    out.append(md_escape(text[pos:], strip=False))
    return "".join(out).strip()


def sentence_md(sentence: Sentence, citations: Sequence[Citation]) -> str:
    """One answer sentence; an unsupported one gets ⚠ and an orange, italic style; an unverified one is
    grey, followed by the abstract's closest sentence in quotes (neutral: no warning sign). Links kept outside."""
    if sentence.supported:
        return linkify(sentence.text, citations)
    by_n = {c.n: c for c in citations}
    words = md_escape(re.sub(r"\s+([.,;:!?])", r"\1", CITE_RE.sub(" ", sentence.text)))
    links = "".join(cite_link(n, by_n) for n in parse_citations(sentence.text))
    if sentence.unverified:
        quote = f" :gray[(abstract: “{md_escape(sentence.quote)}”)]" if sentence.quote else ""
        return f":gray[{words}] {links}{quote}".rstrip()
    return f"⚠ :orange[*{words}*] {links}".rstrip()


# --- papers, hits and answers --------------------------------------------------------------------


def paper_date(paper: Paper) -> str:
    return paper.dates[-1] if paper.dates else (paper.published or "undated")


def hit_line(n: int, hit: Hit, takeaway: str | None = None) -> str:
    """One numbered Markdown line: linked title, list dates and fused score (and the paper's takeaway)."""
    dates = ", ".join(hit.paper.dates) or paper_date(hit.paper)
    line = f"{n}. {paper_link(hit.paper.title, hit.paper.link)} · {md_escape(dates)} · score {hit.score:.3f}"
    return line + (f"   \n   → {md_escape(takeaway)}" if takeaway else "")


def sources_md(citations: Sequence[Citation]) -> str:
    lines = []
    for c in sorted(citations, key=lambda c: c.n):
        flag = "" if c.supported else " · not verified against this abstract" if c.unverified else " · ⚠ not supported by this abstract"
        lines.append(f"- \\[{c.n}\\] {paper_link(c.title, c.url)}{flag}")
    return "\n".join(lines)


def sentences_md(sentences: Sequence[Sentence], citations: Sequence[Citation]) -> str:
    return " ".join(sentence_md(s, citations) for s in sentences)


def render_sentences(sentences: Sequence[Sentence], citations: Sequence[Citation]) -> None:
    """Checked sentences as one paragraph, with the ⚠ explanation when one is unsupported."""
    st.markdown(sentences_md(sentences, citations))
    if any(s.unverified for s in sentences):
        st.caption(UNVERIFIED_CAPTION)
    if any(not s.supported and not s.unverified for s in sentences):
        st.caption(UNSUPPORTED_NOTE)


EXTRACTIVE_NOTE = "Quoted from the abstract: the model's draft was not supported by the papers, or it declined."


def render_answer(answer: Answer) -> None:
    """The checked answer: linked citations, ⚠ on unsupported sentences, the sources; refusals as such."""
    if answer.refused:
        st.info(linkify(answer.answer, answer.citations), icon=":material/search_off:")
        st.caption(f"Model: {md_escape(answer.model)}")
        return
    render_sentences(answer.sentences or [Sentence(text=answer.answer, supported=True)], answer.citations)
    if answer.citations:
        st.markdown("**Sources**\n\n" + sources_md(answer.citations))
    if answer.removed_citations:
        removed = ", ".join(f"\\[{n}\\]" for n in answer.removed_citations)
        st.caption(f"Removed citations of papers the model was not shown: {removed}")
    if answer.extractive:
        st.caption(EXTRACTIVE_NOTE)
    st.caption(f"Model: {md_escape(answer.model)}")


def start_model(runtime: Runtime, slot: DeltaGenerator | None = None) -> None:
    """Start the chat model under a status box the first time (the embedded model takes seconds)."""
    if runtime.model_ready:
        return
    embedded = runtime.assistant.settings.llm_backend == "embedded"
    slot = slot if slot is not None else st.empty()
    with slot.container(), st.status(LOADING_LABEL if embedded else "Connecting to the model…"):
        runtime.assistant.chat_model  # noqa: B018 - the property starts the model
    slot.empty()
    runtime.model_ready = True


T = TypeVar("T")


def model_task(
    runtime: Runtime, label: str, work: Callable[[], T], done: Callable[[T], str], doing: str, result_key: str
) -> None:
    """Run `work` (it calls the model) under a status box and keep its result in `result_key` of the
    session; a failure is one error line (`show_error`) and keeps the previous result."""
    try:
        start_model(runtime)
        with st.status(label) as box:
            result = work()
            box.update(label=done(result), state="complete")
    except Exception as exc:  # noqa: BLE001 - shown by show_error, never as a traceback
        show_error(exc, doing)
        return
    st.session_state[result_key] = result


def download_buttons(obj: Digest | Comparison, stem: str) -> None:
    """Markdown, HTML, JSON and BibTeX exports of a digest or comparison, side by side."""
    from assistant.export import render

    cols = st.columns(len(EXPORTS))
    for col, (fmt, (label, mime)) in zip(cols, EXPORTS.items()):
        col.download_button(
            label, render(obj, fmt), file_name=f"{stem}.{fmt}", mime=mime, on_click="ignore",
            icon=":material/download:", key=f"download-{stem}-{fmt}",
        )  # fmt: skip


@st.cache_data(ttl=600, show_spinner="Listing the weeks…")
def _weeks_with_papers(_assistant: Assistant, data_dir: str, papers: int, last_date: object) -> list[str]:
    """ISO weeks with papers, newest first; the arguments after the first are the cache key (the corpus)."""
    from assistant.periods import available_weeks

    return available_weeks(_assistant.store)


def week_picker(assistant: Assistant, slot: DeltaGenerator, key: str, help: str | None = None) -> str | None:
    """An ISO-week select box of the weeks that have papers, newest first; None (reason shown) if none."""
    try:
        stats = assistant.stats(vectors=False)
        key_of_corpus = (str(assistant.settings.data_dir), int(str(stats["papers"])), stats.get("last_date"))
        weeks = _weeks_with_papers(assistant, *key_of_corpus)
    except Exception as exc:  # noqa: BLE001 - shown by show_error
        show_error(exc, "list the weeks")
        return None
    if not weeks:
        st.info("No dated papers yet: add Daily Papers lists on the Library page.", icon=":material/event_busy:")
        return None
    return str(slot.selectbox("Week (ISO)", weeks, key=key, help=help))


def cell_md(cell: Cell, comparison: Comparison) -> str:
    """One table cell: cited text; an abstract sentence shown in quotes; ⚠ when unsupported."""
    if cell.source == "none" or not cell.text.strip():
        return "—"
    text = linkify(cell.text, comparison.citations)
    if cell.source == "abstract":
        text = f"“{text}” *(quoted)*"
    return text if cell.supported else f"⚠ {text}"


def table_md(comparison: Comparison) -> str:
    """The comparison's table in Markdown: a row per paper, a cited cell per aspect (compare page, chat)."""
    from assistant.chains.aspects import ASPECT_LABELS, ASPECTS

    header = "| Paper | " + " | ".join(ASPECT_LABELS[a] for a in ASPECTS) + " |"
    lines = [header, "|" + " --- |" * (len(ASPECTS) + 1)]
    for row in comparison.table:
        cells = " | ".join(cell_md(row.cells[a], comparison) for a in ASPECTS if a in row.cells)
        lines.append(f"| \\[{row.n}\\] {paper_link(row.title, row.url)} | {cells} |")
    return "\n".join(lines)
