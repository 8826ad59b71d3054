"""Shared fixtures: isolated settings per test, no network beyond loopback, a seeded store.

Every test gets its own data dir and settings built with `_env_file=None`, so a developer's
`.env` never leaks in, and any connection to a non-loopback address fails the test.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from assistant.config import Settings

if TYPE_CHECKING:
    from assistant.service import Assistant

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "daily-papers"
SHARED_DATA = ROOT.parent / "shared" / "data"
SEED_YEAR = 2025

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(AssertionError):
    pass


def _guarded_connect(self: socket.socket, address: object) -> object:
    if not _is_local(address):
        raise NetworkBlocked(f"test tried to connect to {address!r}: only 127.0.0.1 is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> object:
    if not _is_local(address):
        raise NetworkBlocked(f"test tried to connect to {address!r}: only 127.0.0.1 is allowed")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real API keys, no ASSISTANT_* from the outside, no network beyond loopback."""
    for var in list(os.environ):
        if var.startswith("ASSISTANT_") or var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")
    monkeypatch.setenv("ASSISTANT_READ_AFTER_INGEST", "off")  # no reader process outliving a test's data dir
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for tests: never read `.env`, data in `data_dir`, shared model cache."""
    models = Path(os.environ.get("ASSISTANT_TEST_MODELS_DIR", ROOT / ".cache" / "models"))
    overrides.setdefault("read_after_ingest", "off")
    return Settings(_env_file=None, data_dir=data_dir, model_cache_dir=models, **overrides)  # type: ignore[call-arg]


def cli_env(monkeypatch: pytest.MonkeyPatch, data: Path, base_url: str, **extra: str) -> None:
    """Env for `Settings()` in CLI/UI code under test: `data`, the shared model cache, the fake endpoint at `base_url`."""
    monkeypatch.chdir(data.parent)  # no stray .env
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", str(make_settings(data).models_dir))
    monkeypatch.setenv("ASSISTANT_LLM_BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def seeded_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the five sample pages ingested once per test session (read-only use)."""
    from assistant.service import Assistant

    data = tmp_path_factory.mktemp("seeded") / "data"
    app = Assistant(make_settings(data))
    app.ingest([SEEDS], year=SEED_YEAR, progress=False)
    app.close()
    return data


@pytest.fixture(scope="module")
def shared(seeded_dir: Path) -> Iterator[Assistant]:
    """One store + embedder over the seeded dir for a module's read-only tests (loading the embedder once keeps the suite fast)."""
    from assistant.service import Assistant

    app = Assistant(make_settings(seeded_dir))
    app.retriever  # noqa: B018  (open the store and load the embedder now)
    yield app
    app.close()


@pytest.fixture
def seeded_copy(seeded_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded data dir, for tests that write."""
    dest = tmp_path / "seeded"
    shutil.copytree(seeded_dir, dest)
    return dest


def shared_data(*parts: str) -> Path:
    """A file in ../shared/data, or skip the test with a clear message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (shared evaluation data is not redistributed with the repo)")
    return path


from fake_openai import FakeOpenAI, fake_openai  # noqa: E402,F401  (shared fixture: a local OpenAI-compatible server)
