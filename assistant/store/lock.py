"""The write lock: one writer (ingest, reindex) per data dir at a time, across processes.

A second writer waits for the first (saying so on stderr) up to `write_lock_timeout` seconds
(ASSISTANT_WRITE_LOCK_TIMEOUT), then runs.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from assistant.errors import StoreError
from assistant.store.diagnostics import disk_hint

log = logging.getLogger(__name__)

LOCK_NAME = ".write.lock"
READ_LOCK_NAME = ".read.lock"
# While waiting, say how long it has been this often.
REPORT_EVERY = 30.0


def write_lock(data_dir: Path, timeout: float) -> FileLock:
    """An exclusive lock for writers, shared across processes."""
    return FileLock(str(data_dir / LOCK_NAME), timeout=timeout)


def read_lock(data_dir: Path) -> FileLock:
    """The lock of the one process reading papers ahead of questions (`assistant.reading`); never waited for."""
    return FileLock(str(data_dir / READ_LOCK_NAME), timeout=0)


def _wait(lock: FileLock, data_dir: Path, timeout: float) -> None:
    """Block until `lock` is ours, reporting on stderr; StoreError after `timeout` seconds."""
    log.warning(
        "another process is writing to %s; waiting up to %.0f s for it to finish (ASSISTANT_WRITE_LOCK_TIMEOUT)",
        data_dir, timeout,
    )
    started = time.monotonic()
    while True:
        left = timeout - (time.monotonic() - started)
        try:
            lock.acquire(timeout=max(0.0, min(REPORT_EVERY, left)))
            return
        except Timeout:
            waited = time.monotonic() - started
            if waited >= timeout:
                raise StoreError(
                    f"another process has held the write lock {lock.lock_file} for {waited:.0f} s; try again when it "
                    "has finished, or raise ASSISTANT_WRITE_LOCK_TIMEOUT"
                ) from None
            log.warning("still waiting for the write lock on %s (%.0f s of %.0f s)", data_dir, waited, timeout)


@contextlib.contextmanager
def holding_write_lock(data_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the write lock for the duration of the block, waiting up to `timeout` seconds for it."""
    lock = write_lock(data_dir, timeout)
    try:
        lock.acquire(timeout=0)
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError, hence an OSError
        _wait(lock, data_dir, timeout)
    except OSError as exc:
        raise StoreError(
            f"cannot take the write lock {lock.lock_file}: {exc.strerror or exc}{disk_hint(data_dir)}; "
            "check ASSISTANT_DATA_DIR permissions; nothing was changed"
        ) from exc
    try:
        yield
    finally:
        lock.release()
