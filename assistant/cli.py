"""The `assistant` command: argument parsing and printing only; the work happens in `Assistant`.

With `--json` every command prints exactly one JSON document on stdout (progress and logs go
to stderr). Exit codes: 0 success, 2 bad input (one-line reason on stderr), 1 other failures.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from assistant import cli_corpus, cli_foryou, cli_reports
from assistant.cli_common import command_assistant, emit, handle_errors
from assistant.errors import InputError
from assistant.resources import resource_dir


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-v", "--verbose", is_flag=True, help="Log debug details to stderr.")
@click.version_option(package_name="paper-digest-assistant")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """Cited answers, comparisons and weekly digests over daily ML paper lists.

    \b
    Quick start:
      assistant ingest examples/daily-papers --year 2025
      assistant search "semi-supervised text spotting" --k 5
      assistant ask "how does Nash-MP converge?"
      assistant ui                      # the chat app on http://127.0.0.1:8501
      assistant stats

    Settings come from ASSISTANT_* environment variables or a .env file (see .env.example).
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("chromadb", "httpx", "httpcore", "openai", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.ERROR)
    ctx.ensure_object(dict)


@cli.command()
@click.argument("query")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 200), help="Papers to return.")
@click.option("--since", help="Only papers listed on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Only papers listed on or before this date (YYYY-MM-DD).")
@click.option("--week", help="Only papers listed in this ISO week (YYYY-Www).")
@click.option(
    "--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid", show_default=True, help="Retriever."
)


@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.pass_context
@handle_errors
def search(
    ctx: click.Context, query: str, k: int, since: str | None, until: str | None, week: str | None, mode: str, as_json: bool
) -> None:
    """Find the papers that best match QUERY (one entry per paper, best first).

    \b
    Examples:
      assistant search "semi-supervised text spotting" --k 5
      assistant search "LiDAR quantization" --since 2025-06-01 --json
    """
    from assistant.periods import parse_day, week_bounds

    since, until = parse_day(since, "--since"), parse_day(until, "--until")
    if week:
        since, until = week_bounds(week)
    app = command_assistant(ctx)
    hits = app.search(query, k=k, since=since, until=until, mode=mode)  # type: ignore[arg-type]
    lines = app.takeaways([h.paper for h in hits])
    results = [
        {
            "paper_id": h.paper.paper_id, "title": h.paper.title, "score": h.score, "dates": h.paper.dates,
            "url": h.paper.link, "takeaway": lines[h.paper.paper_id].model_dump(exclude={"paper_id"}),
        }
        for h in hits
    ]
    if as_json:
        emit({"results": results})
        return
    if not results:
        click.echo("no matching papers (is anything ingested? see `assistant stats`)")
    for i, r in enumerate(results, 1):
        dates = ", ".join(r["dates"][-2:])
        click.echo(f"{i:>2}. {r['title']}\n    {r['paper_id']}  {dates}  score {r['score']:.4f}  {r['url'] or ''}")
        line = lines[r["paper_id"]]
        if line.supported:
            click.echo(f"    \u2192 {line.text}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check the set-up: which model back end is active, whether it answers, the store and embedder.

    Sends one tiny completion to the configured model (the embedded one is started, which takes
    seconds the first time). Exit code 0 when the model answered, 1 otherwise.

    \b
    Examples:
      assistant doctor
      ASSISTANT_LLM_BACKEND=openai ASSISTANT_LLM_BASE_URL=http://127.0.0.1:11434/v1 \\
        ASSISTANT_LLM_MODEL=qwen2.5:7b assistant doctor --json
    """
    from assistant.llm import doctor as check_model

    app = command_assistant(ctx)
    report = check_model(app.settings)
    store = app.stats()  # opens Chroma too: a server that is down, or another embedder's collection, fails here
    report["embedder"] = store.get("embedding_model", app.embedder.name)
    report["store"] = store.get("store", "")
    report["papers"] = store.get("papers", 0)
    if as_json:
        emit(report)
    else:
        click.echo(f"{'model':>16}: {report['model'] or '-'} ({report['backend']}, {report['base_url'] or '-'})")
        click.echo(f"{'context size':>16}: {report['context_size'] or '-'} tokens")
        state = f"answers ({report['latency_ms']} ms)" if report["ok"] else f"FAILED: {report['error']}"
        click.echo(f"{'model check':>16}: {state}")
        click.echo(f"{'embedder':>16}: {report['embedder']}")
        click.echo(f"{'store':>16}: {report['store']} ({report['papers']} papers)")
    if not report["ok"]:
        sys.exit(1)


def _answer_json(answer) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {
        "answer": answer.answer,
        "refused": answer.refused,
        "citations": [c.model_dump(include={"n", "paper_id", "title", "supported"}) for c in answer.citations],
        "model": answer.model,
        "sentences": [s.model_dump() for s in answer.sentences],
        "removed_citations": answer.removed_citations,
    }


@cli.command()
@click.argument("question")
@click.option("--k", type=click.IntRange(1, 20), help="Papers retrieved as evidence (default ASSISTANT_TOP_K).")
@click.option("--json", "as_json", is_flag=True, help="Print only the final checked answer as JSON.")
@click.pass_context
@handle_errors
def ask(ctx: click.Context, question: str, k: int | None, as_json: bool) -> None:
    """Answer QUESTION from the ingested papers, every sentence cited and checked.

    The retrieved papers are shown first, then the model's draft streams, then the checked
    answer: sentences the cited abstract does not support are marked. "Which papers ..." lists
    each relevant paper with one checked line; "compare X and Y" prints the comparison's cited
    table too.

    \b
    Examples:
      assistant ask "how does Nash-MP converge?"
      assistant ask "which papers use consistency regularization?" --k 5 --json
      assistant ask "compare ShrinkMatch and SimMatchV2"
    """
    from assistant.citations import render_marked
    from assistant.errors import LLMError

    app = command_assistant(ctx)
    err = sys.stderr
    answer = comparison = None
    try:
        for kind, value in app.ask_stream(question, k=k):
            if kind == "evidence" and not as_json:
                click.echo("Evidence:")
                for n, hit in enumerate(value.hits, 1):
                    date = hit.paper.dates[-1] if hit.paper.dates else ""
                    click.echo(f"  [{n}] {hit.paper.title} ({date}) {hit.paper.link or hit.paper.paper_id}")
                if not value.hits:
                    click.echo("  (no papers found: ingest some with `assistant ingest`)")
            elif kind == "model" and not as_json:
                click.echo(f"Thinking with {value} ...", err=True)
            elif kind == "token" and not as_json:
                err.write(value)
                err.flush()
            elif kind == "checking" and not as_json:
                click.echo(f"\nAsking whether “{value}” answers the question ...", err=True)
            elif kind == "comparison":
                comparison = value
            elif kind == "answer":
                answer = value
    except LLMError:
        if not as_json:
            click.echo("", err=True)
        raise
    assert answer is not None
    if as_json:
        emit(_answer_json(answer) | ({"comparison": comparison.to_json()} if comparison is not None else {}))
        return
    click.echo("", err=True)
    click.echo("\nAnswer:" if not answer.refused else "\nNo answer:")
    click.echo("  " + (answer.answer if answer.refused else render_marked(answer.sentences)))
    if answer.removed_citations:
        click.echo(f"  (removed citations of papers the model was not shown: {answer.removed_citations})")
    if answer.extractive:
        click.echo("  (quoted from the abstract: the model's draft was not supported by the papers, or it declined)")
    if not answer.refused:
        click.echo("Sources:")
        for c in answer.citations:
            mark = "supported" if c.supported else "not verified against this abstract" if c.unverified else "NOT supported by this abstract"
            click.echo(f"  [{c.n}] {c.title} — {mark}")
    if comparison is not None:
        _echo_table(comparison)


def _echo_table(comparison) -> None:  # type: ignore[no-untyped-def]
    """The comparison's table as text: per paper, each aspect's cited cell (quoted or unsupported ones marked)."""
    from assistant.chains.aspects import ASPECT_LABELS, ASPECTS

    click.echo("Side by side:")
    for row in comparison.table:
        click.echo(f"  [{row.n}] {row.title}")
        for aspect in ASPECTS:
            cell = row.cells.get(aspect)
            if cell is None or cell.source == "none":
                continue
            mark = " (quoted from the abstract)" if cell.source == "abstract" else ""
            mark += "" if cell.supported else " [\u26a0 unsupported]"
            click.echo(f"      {ASPECT_LABELS[aspect]}: {cell.text}{mark}")


UI_APP = resource_dir("ui") / "app.py"


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 127.0.0.1 = this machine only.")
@click.option("--port", type=int, default=8501, show_default=True, help="Port of the app.")
@handle_errors
def ui(host: str, port: int) -> None:
    """Start the chat app (Streamlit) at http://HOST:PORT.

    The paper store opens in the background while the browser loads the page; the local
    model starts on the first question. Streamlit's own settings: ui/.streamlit/config.toml
    (shipped with the package; applied whatever the working directory).
    """
    if not UI_APP.exists():
        raise InputError(f"{UI_APP} is missing: reinstall the package (pip install paper-digest-assistant) or restore ui/ from the repository")
    sys.path.insert(0, str(UI_APP.parent))  # where the page scripts find `uikit`
    import streamlit  # noqa: F401 - sets up its loggers, quietened next

    # `uikit` is imported here, before Streamlit's runtime exists (to prewarm the store), so its cached
    # functions would log "No runtime found, using MemoryCacheStorageManager" on every start: harmless
    # (the page script reuses this module in this process), and noise to a user.
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)
    import uikit
    from streamlit.web import cli as streamlit_cli

    uikit.prewarm()
    flags = ["--server.address", host, "--server.port", str(port), "--server.headless", "true"]
    streamlit_cli.main(["run", str(UI_APP), *flags, "--browser.gatherUsageStats", "false"], prog_name="streamlit")


for command in (*cli_corpus.COMMANDS, *cli_reports.COMMANDS, *cli_foryou.COMMANDS):
    cli.add_command(command)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cli(obj={})


if __name__ == "__main__":
    main()
