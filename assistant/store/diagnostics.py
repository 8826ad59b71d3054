"""Why the data dir cannot be used: read-only mounts, a nearly full disk, long driver messages.

Every store module builds its error messages with these, so a user sees one line that names the
directory and the fix.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

LOW_DISK_BYTES = 64 * 1024 * 1024


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line (Chroma's messages can span lines)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def read_only(path: Path) -> bool:
    """True when `path` is on a read-only mount or not writable by this process."""
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY) or not os.access(path, os.W_OK)
    except OSError:
        return False


def disk_hint(path: Path) -> str:
    """A hint for the error message when the disk holding `path` is (nearly) full, else ""."""
    try:
        free = shutil.disk_usage(path).free
    except OSError:
        return ""
    if free >= LOW_DISK_BYTES:
        return ""
    return (
        f" (the disk holding {path} has only {free // 1024} KB free: free some space and re-run; "
        "papers already stored are kept)"
    )
