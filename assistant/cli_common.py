"""What every `assistant` command shares: the error edge, the JSON printer, the command's settings and `Assistant`.

Imported by `cli.py` and the command modules it adds (`cli_corpus.py`, `cli_reports.py`,
`cli_foryou.py`); imports nothing of theirs, so the commands form no import cycle.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

from assistant.errors import AssistantError, InputError

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.service import Assistant


def emit(payload: Any) -> None:
    """Print one JSON document on stdout (the `--json` contract)."""
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


def command_settings(ctx: click.Context) -> Settings:
    """The command's one `Settings`, read from the environment on first use (a bad value: exit 2)."""
    from assistant.config import load_settings

    if "settings" not in ctx.obj:
        ctx.obj["settings"] = load_settings()
    return ctx.obj["settings"]  # type: ignore[no-any-return]


def command_assistant(ctx: click.Context) -> Assistant:
    """The command's one `Assistant` (built on first use, closed with the command)."""
    from assistant.service import Assistant

    if "assistant" not in ctx.obj:
        ctx.obj["assistant"] = Assistant(command_settings(ctx))
        ctx.call_on_close(ctx.obj["assistant"].close)
    return ctx.obj["assistant"]  # type: ignore[no-any-return]
