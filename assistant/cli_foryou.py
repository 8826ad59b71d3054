"""`assistant follow | unfollow | star | unstar | feed | profile`: the personal feed's commands.

Added to the main group by `cli.py`; printing only, the work is in `assistant.foryou`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from assistant.cli_common import command_assistant, emit, handle_errors
from assistant.errors import InputError
from assistant.foryou.profile import DEFAULT_PROFILE

if TYPE_CHECKING:
    from assistant.foryou.service import ForYou

PROFILE = click.option(
    "--profile", "profile_name", default=DEFAULT_PROFILE, show_default=True, envvar="ASSISTANT_PROFILE",
    help="Named profile to use (env ASSISTANT_PROFILE).",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


def personal(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What every personal command takes: --profile, --json, the context, and the error edge."""
    return PROFILE(JSON(click.pass_context(handle_errors(fn))))


def topics_and_authors(author_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`follow` / `unfollow`: free-text TOPICS and repeated --author, plus what every personal command takes."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        with_authors = click.option("--author", "authors", multiple=True, help=author_help)(personal(fn))
        return click.argument("topics", nargs=-1)(with_authors)

    return wrap


def paper_ids(flag_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`star` / `unstar`: PAPER_ID... and --not-interested, plus what every personal command takes."""

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        with_flag = click.option("--not-interested", is_flag=True, help=flag_help)(personal(fn))
        return click.argument("ids", nargs=-1, required=True, metavar="PAPER_ID...")(with_flag)

    return wrap


def foryou(ctx: click.Context) -> ForYou:
    """The personal feed on the command's `Assistant`."""
    from assistant.foryou.service import ForYou

    return ForYou(command_assistant(ctx))


def _summary(ctx: click.Context, name: str, as_json: bool, done: str, changed: list[str]) -> None:
    profile = foryou(ctx).profile(name)
    if as_json:
        emit({"profile": name, "changed": changed, **profile.model_dump(exclude={"name"})})
    else:
        click.echo(f"{done}: {', '.join(changed) if changed else 'nothing new'} (profile {name!r})")
        click.echo(_describe(profile))


@click.command()
@topics_and_authors("An author to follow (repeat for several).")
def follow(ctx: click.Context, topics: tuple[str, ...], authors: tuple[str, ...], profile_name: str, as_json: bool) -> None:
    """Follow topics (free text) and authors; the feed ranks papers close to them first.

    \b
    Examples:
      assistant follow "speculative decoding" "LLM quantization"
      assistant follow --author "Tri Dao"
      assistant follow "diffusion distillation" --profile work
    """
    if not topics and not authors:
        raise InputError('give a topic ("speculative decoding") or --author "Name" to follow')
    _summary(ctx, profile_name, as_json, "following", foryou(ctx).follow(topics, authors, profile_name))


@click.command()
@topics_and_authors("An author to stop following (repeat for several).")
def unfollow(ctx: click.Context, topics: tuple[str, ...], authors: tuple[str, ...], profile_name: str, as_json: bool) -> None:
    """Stop following topics or authors.

    \b
    Examples:
      assistant unfollow "LLM quantization"
      assistant unfollow --author "Tri Dao"
    """
    if not topics and not authors:
        raise InputError('give a followed topic or --author "Name" to unfollow (see `assistant profile`)')
    _summary(ctx, profile_name, as_json, "no longer following", foryou(ctx).unfollow(topics, authors, profile_name))


@click.command()
@paper_ids('Mark the papers "not interested" instead (ranked down).')
def star(ctx: click.Context, ids: tuple[str, ...], not_interested: bool, profile_name: str, as_json: bool) -> None:
    """Star papers you liked (ids from `assistant search`/`ask`); from 3 stars a classifier learns your taste.

    Every id must be a stored paper; if one is unknown nothing is stored.

    \b
    Examples:
      assistant star 2406.01234 2405.11111
      assistant star arXiv:2406.01234v2
      assistant star 2406.09999 --not-interested
    """
    done = "marked not interested" if not_interested else "starred"
    _summary(ctx, profile_name, as_json, done, foryou(ctx).star(ids, profile_name, not_interested))


@click.command()
@paper_ids('Remove "not interested" marks instead of stars.')
def unstar(ctx: click.Context, ids: tuple[str, ...], not_interested: bool, profile_name: str, as_json: bool) -> None:
    """Remove stars (or "not interested" marks).

    \b
    Examples:
      assistant unstar 2406.01234
      assistant unstar 2406.09999 --not-interested
    """
    done = "removed the mark of" if not_interested else "unstarred"
    _summary(ctx, profile_name, as_json, done, foryou(ctx).unstar(ids, profile_name, not_interested))


@click.command()
@click.option("--week", help="ISO week YYYY-Www, or 'last' (default): the latest complete week with papers.")
@click.option("--since", help="First list date (YYYY-MM-DD), instead of --week.")
@click.option("--until", help="Last list date (YYYY-MM-DD, inclusive).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 500), help="Papers in the feed.")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "rss", "atom"]), default=None,
    help="text (default), json, or an RSS 2.0 / Atom feed for a feed reader.",
)


@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write the feed to FILE.")
@personal
def feed(
    ctx: click.Context, week: str | None, since: str | None, until: str | None, k: int, fmt: str | None,
    out: Path | None, profile_name: str, as_json: bool,
) -> None:
    """The period's papers ranked for you, each with why (a star it is close to, a topic, an author).

    \b
    Examples:
      assistant feed                                   # last complete week, top 10
      assistant feed --week 2025-W23 --k 20 --json
      assistant feed --format rss --out ~/public/feed.xml
      assistant feed --format atom --profile work --out work.atom
    """
    from assistant.foryou.delivery import feed_xml, write_file

    if as_json and fmt in ("rss", "atom") and out is None:
        raise InputError(f"--json prints JSON; to get --format {fmt}, add --out FILE")
    result = foryou(ctx).feed(week, since, until, k, profile_name)
    fmt = fmt or ("json" if as_json else "text")
    data = (
        feed_xml(result, fmt) if fmt in ("rss", "atom")
        else (_json_text(result.to_json()) if fmt == "json" else _feed_text(result)).encode("utf-8")
    )
    if out is not None:
        write_file(out.expanduser(), data)
        if as_json:
            emit({**result.to_json(), "written": str(out), "format": fmt})
        else:
            click.echo(f"wrote {out} ({fmt}, {len(result.items)} papers)")
    elif as_json:
        emit(result.to_json())
    else:
        sys.stdout.write(data.decode("utf-8"))


@click.group(invoke_without_command=True)
@personal
def profile(ctx: click.Context, profile_name: str, as_json: bool) -> None:
    """Show a profile (topics, authors, stars), or list, export, import and delete profiles.

    \b
    Examples:
      assistant profile                       # the default profile
      assistant profile --profile work --json
      assistant profile list
      assistant profile export --out me.json
      assistant profile import me.json --as laptop
      assistant profile delete laptop
    """
    if ctx.invoked_subcommand is not None:
        return
    _show(foryou(ctx).profile(profile_name), f"profile {profile_name!r}", as_json)


@profile.command("list")
@JSON
@click.pass_context
@handle_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """List the stored profiles."""
    names = foryou(ctx).profiles.names()
    if as_json:
        emit({"profiles": names})
    else:
        click.echo("\n".join(names) if names else f"no profiles yet; start one with: {_start_hint()}")


@profile.command("export")
@PROFILE
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), help="Write to FILE (default: stdout).")
@JSON
@click.pass_context
@handle_errors
def export(ctx: click.Context, profile_name: str, out: Path | None, as_json: bool) -> None:
    """Export a profile as one JSON file (import it elsewhere with `assistant profile import`)."""
    from assistant.foryou.delivery import write_file

    text = foryou(ctx).export(profile_name)
    if out is None:
        click.echo(text)
        return
    write_file(out.expanduser(), text.encode("utf-8"))
    if as_json:
        emit({"profile": profile_name, "written": str(out)})
    else:
        click.echo(f"wrote {out}")


@profile.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--as", "as_name", help="Store under this name (default: the name in the file).")
@JSON
@click.pass_context
@handle_errors
def import_(ctx: click.Context, path: Path, as_name: str | None, as_json: bool) -> None:
    """Import a profile JSON file (replaces the profile of the same name)."""
    try:
        text = path.expanduser().read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    p = foryou(ctx).import_(text, as_name, source=str(path))
    _show(p, f"imported profile {p.name!r}", as_json)


@profile.command("delete")
@click.argument("name")
@JSON
@click.pass_context
@handle_errors
def delete(ctx: click.Context, name: str, as_json: bool) -> None:
    """Delete a stored profile."""
    foryou(ctx).profiles.delete(name)
    if as_json:
        emit({"deleted": name})
    else:
        click.echo(f"deleted profile {name!r}")


COMMANDS = (follow, unfollow, star, unstar, feed, profile)


def _show(p, heading: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """A profile: the JSON document, or `heading` and what it follows."""
    if as_json:
        emit(p.model_dump())
    else:
        click.echo(heading)
        click.echo(_describe(p))


def _start_hint() -> str:
    from assistant.foryou.service import HOW_TO_START

    return HOW_TO_START


def _describe(p) -> str:  # type: ignore[no-untyped-def]
    if p.empty and not p.not_interested:
        return f"  (empty) start: {_start_hint()}"
    lines = [
        f"  topics: {', '.join(p.topics) or '-'}",
        f"  authors: {', '.join(p.authors) or '-'}",
        f"  stars ({len(p.stars)}): " + ("; ".join(f"{s.paper_id} {s.title[:60]}" for s in p.stars) or "-"),
    ]
    if p.not_interested:
        lines.append(f"  not interested ({len(p.not_interested)}): " + ", ".join(s.paper_id for s in p.not_interested))
    return "\n".join(lines)


def _json_text(payload: object) -> str:
    import json

    return json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n"


def _feed_text(feed) -> str:  # type: ignore[no-untyped-def]
    lines = [f"For you ({feed.profile}), {feed.period}: top {len(feed.items)} of {feed.n_papers} papers; {feed.mode}", ""]
    for n, item in enumerate(feed.items, start=1):
        p = item.paper
        votes = f", {p.upvotes} upvotes" if p.upvotes is not None else ""
        lines.append(f"{n:>2}. {p.title} ({p.paper_id}{votes})")
        lines.append(f"    why: {'; '.join(item.reasons)}")
        if p.link:
            lines.append(f"    {p.link}")
    return "\n".join(lines) + "\n"
