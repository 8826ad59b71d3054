"""The write lock: one writer (ingest, reindex, fetch) per data dir at a time, across processes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.errors import StoreError
from assistant.store.diagnostics import disk_hint

log = logging.getLogger(__name__)

LOCK_NAME = ".write.lock"


def write_lock(data_dir: Path, timeout: float) -> FileLock:
    """An exclusive lock for writers, shared across processes."""
    return FileLock(str(data_dir / LOCK_NAME), timeout=timeout)


@contextlib.contextmanager
def holding_write_lock(data_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the write lock for the duration of the block."""
    lock = write_lock(data_dir, timeout)
    try:
        lock.acquire(timeout=0)
    except OSError as exc:
        raise StoreError(
            f"cannot take the write lock {lock.lock_file}: {exc.strerror}{disk_hint(data_dir)}; "
            "check ASSISTANT_DATA_DIR permissions; nothing was changed"
        ) from exc
    except Timeout:
        log.warning("another ingest is writing to %s; waiting for it to finish", data_dir)
        try:
            lock.acquire()
        except Timeout as exc:
            raise StoreError(
                f"another process has held the write lock {lock.lock_file} for {timeout:.0f}s; try again later"
            ) from exc
    try:
        yield
    finally:
        lock.release()
