"""`assistant compare | digest`: the reports, printed or exported (Markdown, HTML, JSON, BibTeX) and mailed.

Added to the main group by `cli.py`; printing only, the work is in `Assistant`, `export.py` and
`assistant.foryou` (the "for you" section and mail).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from assistant.cli_common import command_assistant, emit, handle_errors
from assistant.errors import InputError


def export_report(obj: Any, fmt: str | None, out: Path | None, as_json: bool) -> None:
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
            emit(obj.to_json())
        else:
            click.echo(f"wrote {out} ({fmt})")
    elif as_json:
        emit(obj.to_json())
    else:
        click.echo(text, nl=False)


FORMAT = click.Choice(["md", "html", "json", "bib"])


@click.command()
@click.argument("items", nargs=-1, required=True, metavar="QUERY_OR_IDS...")
@click.option("--n", "n", default=4, show_default=True, type=click.IntRange(2, 6), help="Papers picked for a query.")
@click.option("--since", help="Query mode: only papers listed on or after this date (YYYY-MM-DD).")
@click.option("--until", help="Query mode: only papers listed on or before this date (YYYY-MM-DD).")
@click.option("--week", help="Query mode: only papers listed in this ISO week (YYYY-Www).")
@click.option("--format", "fmt", type=FORMAT, help="md (default), html, json or bib (BibTeX of the compared papers).")
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
    app = command_assistant(ctx)
    if not as_json:
        click.echo(f"Comparing with {app.model_label} ...", err=True)
    result = app.compare(list(items), n=n, since=since, until=until, progress=sys.stderr.isatty())
    export_report(result, fmt, out, as_json)


@click.command()
@click.option("--week", help="ISO week YYYY-Www (e.g. 2024-W23), or 'last': the complete ISO week before this one (UTC).")
@click.option("--since", help="First list date (YYYY-MM-DD), instead of --week.")
@click.option("--until", help="Last list date (YYYY-MM-DD, inclusive; default: the newest stored date).")
@click.option("--format", "fmt", type=FORMAT, help="md (default), html (self-contained page), json or bib.")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the export to FILE.")
@click.option(
    "--extract",
    type=click.Choice(["auto", "model", "quick"]),
    default="auto",
    show_default=True,
    help="Per-paper notes: model = one cached call per paper; quick = cue-word abstract sentences; "
    "auto = quick for the embedded model, model for an endpoint.",
)


@click.option("--topics", type=click.IntRange(1, 50), help="Number of topic groups (default: the count whose groupings of subsamples of the week agree most).")
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
    app = command_assistant(ctx)
    if progress is None:
        progress = sys.stderr.isatty()
    args = dict(week=week, since=since, until=until, extract=extract, topics=topics, progress=progress)
    if not (for_me or mail_to):
        export_report(app.digest(**args), fmt, out, as_json)
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
        emit(result.to_json())
    elif out is None:
        click.echo(text, nl=False)
    if mail_to:
        mail_digest(app.settings, list(mail_to), result)
        click.echo(f"mailed the digest to {', '.join(mail_to)}", err=True)


COMMANDS = (compare, digest)
