"""Where the app's own files are: `prompts/` and `ui/` at the top of a source checkout, or the copies
a wheel ships inside the package (pyproject.toml maps them to `assistant/_data/`).

`prompts.py` and `cli.py ui` call this; one lookup serves a checkout, an editable install and a wheel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

_PACKAGE = Path(__file__).resolve().parent

Resource = Literal["prompts", "ui"]


def resource_dir(name: Resource) -> Path:
    """The folder holding `name`: the installed copy when the package carries one, else the checkout's."""
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name
