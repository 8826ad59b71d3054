"""Library page: add Daily Papers lists (upload or paste), search the corpus, see what is in it.

Saves uploads and pasted text to a temporary directory and calls `Assistant.ingest` with a
progress bar; search calls `Assistant.search` with optional list-date bounds.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

import streamlit as st

from assistant.ingest import IngestReport
from assistant.papers import ParseIssue
from assistant.sources import FORMATS
from stars import hit_rows
from uikit import Runtime, md_escape, runtime_or_stop, show_error

UPLOAD_TYPES = ["txt", "json", "jsonl", "gz", "csv"]
PASTED_NAME = "pasted-daily-page.txt"
REPORT_KEY = "library_report"
MAX_SHOWN_ERRORS = 10  # more problems than this start collapsed
MAX_LISTED_ERRORS = 200


def safe_name(name: str, taken: set[str]) -> str:
    """A plain file name for an upload (keeps the suffixes format detection looks at), unique in `taken`."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).lstrip(".") or "upload.txt"
    candidate, i = base, 1
    while candidate in taken:
        candidate, i = f"{i}-{base}", i + 1
    taken.add(candidate)
    return candidate


def save_inputs(folder: Path, uploads: list, pasted: str) -> dict[str, str]:  # type: ignore[type-arg]
    """Write the inputs to `folder`; returns saved path -> the name the user knows it by."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for upload in uploads:
        path = folder / safe_name(upload.name, taken)
        path.write_bytes(upload.getvalue())
        names[str(path)] = upload.name
    if pasted.strip():
        path = folder / safe_name(PASTED_NAME, taken)
        path.write_text(pasted, encoding="utf-8")
        names[str(path)] = "pasted text"
    return names


def run_ingest(runtime: Runtime, uploads: list, pasted: str, fmt: str, year: int) -> None:  # type: ignore[type-arg]
    bar = st.progress(0.0, text="Reading the files…")

    def on_progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"Embedding and storing papers: {done}/{total}")

    with tempfile.TemporaryDirectory(prefix="paper-digest-upload-") as tmp:
        names = save_inputs(Path(tmp), uploads, pasted)
        try:
            paths = [Path(p) for p in names]
            report = runtime.assistant.ingest(paths, fmt=fmt, year=year, progress=False, on_progress=on_progress)
        except Exception as exc:  # noqa: BLE001 - shown by show_error, never as a traceback
            bar.empty()
            show_error(exc, "ingest the files")
            return
    for issue in report.errors:  # show the user's file names, not the temporary paths
        issue.file = names.get(issue.file, Path(issue.file).name)
    bar.progress(1.0, text="Done")
    st.session_state[REPORT_KEY] = report


def issue_line(issue: ParseIssue) -> str:
    where = f"{issue.file}, line {issue.line}" if issue.line else issue.file
    return f"- **{md_escape(where)}**: {md_escape(issue.reason)}"


def render_report(report: IngestReport) -> None:
    cols = st.columns(6)
    for col, (label, value) in zip(
        cols,
        [
            ("files", report.files),
            ("parsed", report.parsed),
            ("new", report.new),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("skipped", report.skipped),
        ],
    ):
        col.metric(label, value)
    if report.errors:
        n = len(report.errors)
        st.warning(f"{n} problem(s) in the input; the rest was ingested.", icon=":material/warning:")
        with st.expander(f"Problems ({n})", expanded=n <= MAX_SHOWN_ERRORS):
            st.markdown("\n".join(issue_line(e) for e in report.errors[:MAX_LISTED_ERRORS]))
            if n > MAX_LISTED_ERRORS:
                st.caption(f"…and {n - MAX_LISTED_ERRORS} more.")
    elif report.parsed:
        st.success("Ingested without problems.", icon=":material/check_circle:")
    else:
        st.warning("No papers found in the input.", icon=":material/warning:")


def add_papers_section(runtime: Runtime) -> None:
    st.subheader("Add papers")
    uploads = st.file_uploader(
        "Daily Papers files (page text, HF API JSON, JSONL, CSV; .gz accepted)",
        type=UPLOAD_TYPES,
        accept_multiple_files=True,
        key="uploads",
    )
    pasted = st.text_area(
        "…or paste a Daily Papers page", height=150, placeholder="Copy the page from your browser and paste it here",
        key="pasted",
    )
    left, right = st.columns(2)
    fmt = left.selectbox("Format", FORMATS, help="auto guesses from the file name and content", key="format")
    year = right.number_input(
        "Year of the list dates",
        min_value=1990,
        max_value=2100,
        value=dt.date.today().year,
        help="Pages show dates like 'Jun 6' without a year.",
        key="year",
    )
    ready = bool(uploads or pasted.strip())
    if st.button("Ingest", type="primary", disabled=not ready, icon=":material/upload:", key="ingest"):
        run_ingest(runtime, list(uploads or []), pasted, str(fmt), int(year))
    if REPORT_KEY in st.session_state:
        render_report(st.session_state[REPORT_KEY])


def fetch_section(runtime: Runtime) -> None:
    st.subheader("Fetch the latest daily lists")
    st.caption(
        "Pulls the Hugging Face Daily Papers lists of the days not fetched yet (the last week by default) "
        "from ASSISTANT_HF_API_BASE. Nothing is changed when the site cannot be reached."
    )
    if not st.button("Fetch latest", icon=":material/download:", key="fetch"):
        return
    bar = st.progress(0.0, text="Contacting the Daily Papers API…")

    def on_progress(done: int, total: int, message: str) -> None:
        bar.progress(done / total if total else 0.0, text=message)

    try:
        report = runtime.assistant.fetch(on_progress=on_progress)
    except Exception as exc:  # noqa: BLE001 - shown by show_error, never as a traceback
        bar.empty()
        show_error(exc, "fetch the daily lists")
        return
    bar.progress(1.0, text="Done")
    st.success(
        f"{report.fetched} days fetched, {report.skipped_days} already stored: "
        f"{report.new} new papers, {report.updated} updated."
    )
    for err in report.errors:
        st.warning(md_escape(f"{err.day}: {err.reason}"))


def search_section(runtime: Runtime) -> None:
    st.subheader("Search")
    query = st.text_input("Search the papers", placeholder="e.g. semi-supervised text spotting", key="search_query")
    a, b, c = st.columns([2, 2, 1])
    since = a.date_input("Listed since", value=None, key="since")
    until = b.date_input("Listed until", value=None, key="until")
    k = c.number_input("Results", min_value=1, max_value=50, value=10, key="search_k")
    if not query.strip():
        return
    try:
        hits = runtime.assistant.search(
            query, k=int(k), since=since.isoformat() if since else None, until=until.isoformat() if until else None
        )
    except Exception as exc:  # noqa: BLE001 - shown by show_error
        show_error(exc, "search")
        return
    if not hits:
        st.info("No paper matches (check the dates, or add papers above).", icon=":material/search_off:")
        return
    lines = runtime.assistant.takeaways([h.paper for h in hits])
    hit_rows(hits, "search", {pid: t.text for pid, t in lines.items() if t.supported})
    with st.expander("Abstracts"):
        for n, hit in enumerate(hits, start=1):
            st.markdown(f"**{n}. {md_escape(hit.paper.title)}**")
            st.caption(md_escape(hit.paper.abstract[:600] + ("…" if len(hit.paper.abstract) > 600 else "")))


def stats_section(runtime: Runtime) -> None:
    st.subheader("Corpus")
    try:
        stats = runtime.assistant.stats()
    except Exception as exc:  # noqa: BLE001 - shown by show_error
        show_error(exc, "read the corpus statistics")
        return
    left, right = st.columns(2)
    left.metric("papers", stats.get("papers", 0))
    right.metric("chunks", stats.get("chunks", 0))
    first, last = stats.get("first_date"), stats.get("last_date")
    span = f"{first} → {last}" if first else "no dated lists yet"
    model = md_escape(str(stats.get("embedding_model", "?")))
    st.markdown(f"**List dates:** {md_escape(str(span))}  \n**Embedding model:** {model}")


def library_page() -> None:
    runtime = runtime_or_stop()
    st.title("Library")
    add_papers_section(runtime)
    st.divider()
    fetch_section(runtime)
    st.divider()
    search_section(runtime)
    st.divider()
    stats_section(runtime)


library_page()
