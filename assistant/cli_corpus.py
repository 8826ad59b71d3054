"""`assistant ingest | fetch | stats | reindex | eval`: what goes into the store, and how well it is found.

Added to the main group by `cli.py`; printing only, the work is in `Assistant`, `fetch.py`,
`ingest.py` and `evaluate.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from assistant.cli_common import command_assistant, command_settings, emit, handle_errors
from assistant.errors import InputError

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples" / "daily-papers"


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "daily-page", "hf-json", "jsonl", "csv"]),
    default="auto",
    show_default=True,
    help="Input format; auto-detected from extension and content.",
)


@click.option("--year", type=int, help="Year of daily-page dates such as 'Jun 6' (default: this year).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, paths: tuple[Path, ...], fmt: str, year: int | None, as_json: bool) -> None:
    """Parse, deduplicate, embed and store papers from files or directories.

    Safe to re-run: unchanged papers are skipped, a killed run resumes where it stopped.

    \b
    Examples:
      assistant ingest examples/daily-papers --year 2025
      assistant ingest papers.jsonl.gz export.csv --json
    """
    if year is not None and not 1990 <= year <= 2100:
        raise InputError(f"--year {year} is out of range; give a four-digit year such as 2025")
    report = command_assistant(ctx).ingest(list(paths), fmt=fmt, year=year, progress=not as_json or sys.stderr.isatty())
    if as_json:
        emit(report.model_dump())
    else:
        click.echo(
            f"{report.files} files, {report.parsed} entries parsed: {report.new} new, {report.updated} updated, "
            f"{report.unchanged} unchanged, {report.skipped} skipped"
        )
        for err in report.errors:
            where = f"{err.file}:{err.line}" if err.line else err.file
            click.echo(f"  {where}: {err.reason}", err=True)
        for entry in report.skipped_files:
            click.echo(f"  skipped {entry.file}: {entry.reason}", err=True)
    if not report.ingested_anything and report.errors:
        sys.exit(2)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show what the store holds: papers, chunks, date range, embedding model, store mode."""
    data = command_assistant(ctx).stats()
    if as_json:
        emit(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>16}: {value}")


@click.command()
@click.option("--embeddings", is_flag=True, help="Also drop and re-embed every chunk (after changing the embedder).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def reindex(ctx: click.Context, embeddings: bool, as_json: bool) -> None:
    """Rebuild derived indexes from the stored papers, without re-parsing any source file."""
    from assistant.chains.answerable import paper_texts
    from assistant.ingest import reindex as run

    app = command_assistant(ctx)
    app.check_model = not embeddings
    result = run(app.store, app.embedder, embeddings=embeddings, progress=not as_json, kept_texts=paper_texts)
    if as_json:
        emit(result)
    else:
        click.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


@click.command()
@click.option("--date", "day", help="One list date (YYYY-MM-DD).")
@click.option("--week", help="An ISO week (YYYY-Www, e.g. 2025-W10), or 'last': the complete ISO week before this one (UTC).")
@click.option("--month", help="A calendar month (YYYY-MM).")
@click.option("--since", help="Every day from this date (YYYY-MM-DD) to --until or today.")
@click.option("--until", help="Last day for --since (YYYY-MM-DD, inclusive).")
@click.option(
    "--arxiv", "categories", metavar="CATS",
    help="Fetch new arXiv submissions of these categories (e.g. cs.CL,cs.LG) instead of the HF daily lists.",
)


@click.option("--refresh", is_flag=True, help="Fetch days again even if fetched before (updates upvotes).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
@handle_errors
def fetch(
    ctx: click.Context, day: str | None, week: str | None, month: str | None, since: str | None,
    until: str | None, categories: str | None, refresh: bool, as_json: bool,
) -> None:
    """Fetch daily paper lists from the Hugging Face API (or arXiv) and ingest them.

    One request per day to ASSISTANT_HF_API_BASE/daily_papers?date=D. Days fetched before are
    skipped (the current and previous day are fetched again until they are final); --refresh
    fetches them again to update upvotes. Each day's raw JSON is kept in the data dir under
    raw/hf/, so `assistant ingest DATA_DIR/raw/hf` rebuilds the store offline. Without a period:
    the last 7 days (back to the last fetched day if older). Future days are ignored.

    \b
    Examples:
      assistant fetch
      assistant fetch --date 2025-03-05
      assistant fetch --week 2025-W10 --json
      assistant fetch --since 2025-03-01 --refresh
      assistant fetch --arxiv cs.CL,cs.LG --since 2025-03-01

    \b
    Every morning, and the weekly digest on Mondays (cron; % must be written \\% there):
      30 6 * * *  assistant fetch >> $HOME/digests/fetch.log 2>&1
      0 7 * * 1   assistant digest --week last --format html --out $HOME/digests/digest-$(date -d yesterday +\\%G-W\\%V).html
    """
    from assistant.fetch import fetch_papers

    settings = command_settings(ctx)
    report = fetch_papers(
        settings, lambda: command_assistant(ctx), day=day, week=week, month=month, since=since, until=until,
        arxiv=categories, refresh=refresh, progress=not as_json or sys.stderr.isatty(),
    )
    if as_json:
        emit(report.model_dump())
    else:
        source = f"arXiv {categories}" if categories else "HF daily lists"
        click.echo(
            f"{source}: {report.days} day{'s' if report.days != 1 else ''}, {report.fetched} fetched, "
            f"{report.skipped_days} already fetched"
            + (" (--refresh fetches them again)" if report.skipped_days and not report.fetched else "")
        )
        if report.future_days:
            click.echo(f"  {report.future_days} days in the future were ignored")
        if report.fetched:
            click.echo(
                f"{report.papers} papers: {report.new} new, {report.updated} updated, {report.unchanged} unchanged"
            )
        for err in report.errors:
            click.echo(f"  {err.day or ''}: {err.reason}", err=True)
    if not report.ok:
        n = len(report.failed_days)
        first = next((e.reason for e in report.errors if e.day in report.failed_days), "")
        detail = f": {first}" if as_json else " (reasons above)"  # human output listed them already
        click.echo(f"error: {n} day{'s' if n != 1 else ''} not fetched{detail}", err=True)
        sys.exit(1)


@click.command("eval")
@click.argument("dataset", type=click.Choice(["scifact", "seeds"]))
@click.option(
    "--data",
    "data_path",
    type=click.Path(path_type=Path, file_okay=False),
    help="scifact: the BEIR SciFact folder (corpus.jsonl.gz, queries.jsonl, qrels/); seeds: the daily pages "
    "(default: examples/daily-papers).",
)


@click.option("--split", default="test", show_default=True, help="scifact: the qrels split to score.")
@click.option(
    "--mode", "modes", multiple=True, type=click.Choice(["bm25", "dense", "hybrid"]), help="Retrievers (default: all)."
)


@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Also write the table as Markdown to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as one JSON document.")
@click.pass_context
@handle_errors
def eval_(
    ctx: click.Context, dataset: str, data_path: Path | None, split: str, modes: tuple[str, ...], out: Path | None,
    as_json: bool,
) -> None:
    """Score the retrievers: BEIR SciFact (nDCG@10, Recall@100) or our seed questions (recall@1/@5).

    The evaluation corpus is indexed in its own data dir under ASSISTANT_DATA_DIR
    (eval-scifact/, eval-seeds/), never mixed with your papers, and reused on the next run.
    Indexing SciFact (5,183 abstracts) with the local embedder takes several minutes once.

    \b
    Examples:
      assistant eval scifact --data ../shared/data/beir_scifact
      assistant eval scifact --data ../shared/data/beir_scifact --mode hybrid --json
      assistant eval seeds
    """
    from assistant.evaluate import MODES, evaluate_scifact, evaluate_seeds, markdown_table

    settings = command_settings(ctx)
    chosen = list(modes) or list(MODES)
    progress = not as_json and sys.stderr.isatty()
    if dataset == "scifact":
        if data_path is None:
            raise InputError("--data is required for scifact: the BEIR SciFact folder, e.g. ../shared/data/beir_scifact")
        result = evaluate_scifact(settings, data_path, split=split, modes=chosen, progress=progress)
        columns = ["nDCG@10", "R@100", "ms_per_query"]
        title = f"BEIR SciFact {split}: {result['queries']} queries over {result['docs']} abstracts"
    else:
        result = evaluate_seeds(settings, data_path or EXAMPLES_DIR, modes=chosen, progress=progress)
        columns = ["recall@1", "recall@5"]
        title = f"Seed questions: {result['questions']} questions over the seed pages"
    table = markdown_table(title, columns, result["results"])  # type: ignore[arg-type]
    if out is not None:
        try:
            out.write_text(table, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    if as_json:
        emit(result)
    else:
        click.echo(table, nl=False)


COMMANDS = (ingest, fetch, stats, reindex, eval_)
