"""The `assistant` command: argument parsing and printing only; the work happens in `Assistant`.

With `--json` every command prints exactly one JSON document on stdout (progress and logs go
to stderr). Exit codes: 0 success, 2 bad input (one-line reason on stderr), 1 other failures.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from assistant.errors import AssistantError, InputError
from assistant.resources import resource_dir

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples" / "daily-papers"


def _emit(payload: Any) -> None:
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))


def handle_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn our exceptions into one line on stderr and the contract's exit codes."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except AssistantError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted; re-run the same command to finish (work done so far is kept)", err=True)
            sys.exit(130)

    return wrapper


def _settings(ctx: click.Context):  # type: ignore[no-untyped-def]
    """The command's one `Settings`, read from the environment on first use (a bad value: exit 2)."""
    from assistant.config import load_settings

    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings()
    return ctx.obj["settings"]


def _assistant(ctx: click.Context):  # type: ignore[no-untyped-def]
    from assistant.service import Assistant

    if "assistant" not in ctx.obj:
        ctx.obj["assistant"] = Assistant(_settings(ctx))
        ctx.call_on_close(ctx.obj["assistant"].close)
    return ctx.obj["assistant"]


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
    report = _assistant(ctx).ingest(list(paths), fmt=fmt, year=year, progress=not as_json or sys.stderr.isatty())
    if as_json:
        _emit(report.model_dump())
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
    app = _assistant(ctx)
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
        _emit({"results": results})
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

    app = _assistant(ctx)
    report = check_model(app.settings)
    store = app.stats()  # opens Chroma too: a server that is down, or another embedder's collection, fails here
    report["embedder"] = store.get("embedding_model", app.embedder.name)
    report["store"] = store.get("store", "")
    report["papers"] = store.get("papers", 0)
    if as_json:
        _emit(report)
    else:
        click.echo(f"{'model':>16}: {report['model'] or '-'} ({report['backend']}, {report['base_url'] or '-'})")
        click.echo(f"{'context size':>16}: {report['context_size'] or '-'} tokens")
        state = f"answers ({report['latency_ms']} ms)" if report["ok"] else f"FAILED: {report['error']}"
        click.echo(f"{'model check':>16}: {state}")
        click.echo(f"{'embedder':>16}: {report['embedder']}")
        click.echo(f"{'store':>16}: {report['store']} ({report['papers']} papers)")
    if not report["ok"]:
        sys.exit(1)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def stats(ctx: click.Context, as_json: bool) -> None:
    """Show what the store holds: papers, chunks, date range, embedding model, store mode."""
    data = _assistant(ctx).stats()
    if as_json:
        _emit(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:>16}: {value}")


@cli.command()
@click.option("--embeddings", is_flag=True, help="Also drop and re-embed every chunk (after changing the embedder).")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
@handle_errors
def reindex(ctx: click.Context, embeddings: bool, as_json: bool) -> None:
    """Rebuild derived indexes from the stored papers, without re-parsing any source file."""
    from assistant.ingest import reindex as run

    app = _assistant(ctx)
    app.check_model = not embeddings
    result = run(app.store, app.embedder, embeddings=embeddings, progress=not as_json)
    if as_json:
        _emit(result)
    else:
        click.echo(", ".join(f"{k}: {v}" for k, v in result.items()))


def _export(obj: Any, fmt: str | None, out: Path | None, as_json: bool) -> None:
    """Print or write a digest/comparison: `--json` → the JSON document; `--out` → the file."""
    from assistant.export import render

    if as_json and fmt not in (None, "json") and out is None:
        raise InputError(f"--json prints JSON; to get --format {fmt}, add --out FILE")
    fmt = fmt or ("json" if as_json else "md")
    text = render(obj, fmt)
    if out is not None:
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(out)
        except OSError as exc:
            raise InputError(f"cannot write {out}: {exc.strerror or exc}") from exc
        if as_json:
            _emit(obj.to_json())
        else:
            click.echo(f"wrote {out} ({fmt})")
    elif as_json:
        _emit(obj.to_json())
    else:
        click.echo(text, nl=False)


_FORMAT = click.Choice(["md", "html", "json", "bib"])


@cli.command()
@click.argument("items", nargs=-1, required=True, metavar="QUERY_OR_IDS...")
@click.option("--n", "n", default=4, show_default=True, type=click.IntRange(2, 6), help="Papers picked for a query.")
@click.option("--since", help="Query mode: only papers listed on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Query mode: only papers listed on or before this date (YYYY-MM-DD).")
@click.option("--week", help="Query mode: only papers listed in this ISO week (YYYY-Www).")
@click.option("--format", "fmt", type=_FORMAT, help="md (default), html, json or bib (BibTeX of the compared papers).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the export to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as one JSON document.")
@click.pass_context
@handle_errors
def compare(
    ctx: click.Context, items: tuple[str, ...], n: int, since: str | None, until: str | None, week: str | None,
    fmt: str | None, out: Path | None, as_json: bool,
) -> None:
    """Compare papers: a cited summary plus a table (problem, method, data, key result).

    Give 2 to 6 paper ids, or a query (its best, mutually different matches are compared).
    Every table cell cites its paper and is checked against the abstract (cells quoted from
    the abstract are marked); every summary sentence is citation-checked, unsupported ones marked.
    Per-paper extractions are cached, so comparing the same papers again is fast.

    \b
    Examples:
      assistant compare 2406.01234 2406.05678
      assistant compare "preference optimization without a reward model" --n 3
      assistant compare "LiDAR quantization" --week 2025-W23 --format html --out compare.html
    """
    from assistant.periods import parse_day, week_bounds

    since, until = parse_day(since, "--since"), parse_day(until, "--until")
    if week:
        since, until = week_bounds(week)
    app = _assistant(ctx)
    if not as_json:
        click.echo(f"Comparing with {app.model_label} ...", err=True)
    result = app.compare(list(items), n=n, since=since, until=until, progress=sys.stderr.isatty())
    _export(result, fmt, out, as_json)


@cli.command()
@click.option("--week", help="ISO week YYYY-Www (e.g. 2024-W23), or 'last': the complete ISO week before this one (UTC).")
@click.option("--since", help="First list date (YYYY-MM-DD), instead of --week.")
@click.option("--until", help="Last list date (YYYY-MM-DD, inclusive; default: the newest stored date).")
@click.option("--format", "fmt", type=_FORMAT, help="md (default), html (self-contained page), json or bib.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the export to FILE.")
@click.option(
    "--extract",
    type=click.Choice(["auto", "model", "quick"]),
    default="auto",
    show_default=True,
    help="Per-paper notes: model = one cached call per paper; quick = cue-word abstract sentences; "
    "auto = quick for the embedded model, model for an endpoint.",
)
@click.option("--topics", type=click.IntRange(1, 50), help="Number of topic groups (default: about sqrt(papers/2)).")
@click.option("--progress/--no-progress", default=None, help="Progress bars on stderr (default: when a terminal).")
@click.option("--for-me", is_flag=True, help='Start with a "for you" section: your top papers, why, a takeaway each.')
@click.option("--k-for-me", default=5, show_default=True, type=click.IntRange(1, 50), help="Papers in that section.")
@click.option("--profile", "profile_name", default="default", show_default=True, envvar="ASSISTANT_PROFILE",
              help="Profile of --for-me (env ASSISTANT_PROFILE).")
@click.option("--mail", "mail_to", multiple=True, metavar="ADDRESS",
              help="Also e-mail the HTML digest (with a plain-text part) via the ASSISTANT_SMTP_* server.")
@click.option("--json", "as_json", is_flag=True, help="Print the digest as one JSON document.")
@click.pass_context
@handle_errors
def digest(
    ctx: click.Context, week: str | None, since: str | None, until: str | None, fmt: str | None,
    out: Path | None, extract: str, topics: int | None, progress: bool | None, for_me: bool, k_for_me: int,
    profile_name: str, mail_to: tuple[str, ...], as_json: bool,
) -> None:
    """Weekly digest: the period's papers in topic groups, each with a cited, checked summary.

    Also lists the most upvoted papers and the topics that are new or grew compared with the
    previous period. Model outputs are cached: an interrupted digest resumes where it stopped
    and a re-run is fast.

    \b
    Examples:
      assistant digest --week 2025-W23
      assistant digest --week last --format html --out digest.html
      assistant digest --since 2025-06-02 --until 2025-06-06 --json
      assistant digest --week 2025-W23 --format bib --out digest.bib

      assistant digest --week last --for-me --format html --out my.html
      assistant digest --week last --for-me --mail me@example.org

    \b
    Every Monday at 07:00 (cron):
      0 7 * * 1  cd $HOME/digests && assistant ingest inbox/ && assistant digest --week last --format html --out digest-$(date -d yesterday +\\%G-W\\%V).html
    """
    app = _assistant(ctx)
    if progress is None:
        progress = sys.stderr.isatty()
    args = dict(week=week, since=since, until=until, extract=extract, topics=topics, progress=progress)
    if not (for_me or mail_to):
        _export(app.digest(**args), fmt, out, as_json)
        return
    from assistant.foryou.delivery import write_file
    from assistant.foryou.personal_digest import mail_digest, personal_digest, render_personal
    from assistant.foryou.service import ForYou

    if as_json and fmt not in (None, "json") and out is None:
        raise InputError(f"--json prints JSON; to get --format {fmt}, add --out FILE")
    result = personal_digest(ForYou(app), k_for_me if for_me else 0, profile_name, **args)
    text = render_personal(result, fmt or ("json" if as_json else "md"))
    if out is not None:
        write_file(out, text.encode("utf-8"))  # written before mailing: a mail failure keeps the file
        if not as_json:
            click.echo(f"wrote {out} ({fmt or 'md'})")
    if as_json:
        _emit(result.to_json())
    elif out is None:
        click.echo(text, nl=False)
    if mail_to:
        mail_digest(app.settings, list(mail_to), result)
        click.echo(f"mailed the digest to {', '.join(mail_to)}", err=True)


@cli.command()
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

    settings = _settings(ctx)
    report = fetch_papers(
        settings, lambda: _assistant(ctx), day=day, week=week, month=month, since=since, until=until,
        arxiv=categories, refresh=refresh, progress=not as_json or sys.stderr.isatty(),
    )
    if as_json:
        _emit(report.model_dump())
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


@cli.command("eval")
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

    settings = _settings(ctx)
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
        _emit(result)
    else:
        click.echo(table, nl=False)


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

    app = _assistant(ctx)
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
        _emit(_answer_json(answer) | ({"comparison": comparison.to_json()} if comparison is not None else {}))
        return
    click.echo("", err=True)
    click.echo("\nAnswer:" if not answer.refused else "\nNo answer:")
    click.echo("  " + (answer.answer if answer.refused else render_marked(answer.sentences)))
    if answer.removed_citations:
        click.echo(f"  (removed citations outside the evidence: {answer.removed_citations})")
    if answer.extractive:
        click.echo("  (quoted from the abstract: the model's draft was not supported by the papers, or it declined)")
    if not answer.refused:
        click.echo("Sources:")
        for c in answer.citations:
            mark = "supported" if c.supported else "NOT supported by this abstract"
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
    model starts on the first question. Streamlit's own settings: .streamlit/config.toml.
    """
    if not UI_APP.exists():
        raise InputError(f"{UI_APP} is missing: reinstall the package (pip install paper-digest-assistant) or restore ui/ from the repository")
    sys.path.insert(0, str(UI_APP.parent))  # where the page scripts find `uikit`
    import uikit
    from streamlit.web import cli as streamlit_cli

    uikit.prewarm()
    flags = ["--server.address", host, "--server.port", str(port), "--server.headless", "true"]
    streamlit_cli.main(["run", str(UI_APP), *flags, "--browser.gatherUsageStats", "false"], prog_name="streamlit")


from assistant.cli_foryou import register as _register_foryou  # noqa: E402  (needs `cli` and `handle_errors`)

_register_foryou(cli, _assistant, _emit)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    cli(obj={})


if __name__ == "__main__":
    main()
