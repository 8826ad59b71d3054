"""Exposure: everything we start listens on 127.0.0.1 only; the local model server wants a random key;
the packaged model file is checked against the published sha256.

(Refusal of a wrong or damaged model file is tested in tests/test_local_model.py.)
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from assistant import local_model
from tests.conftest import ROOT, make_settings

PUBLISHED_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"  # DESIGN.md, model card


def test_streamlit_config_binds_loopback_headless_without_telemetry() -> None:
    config = tomllib.loads((ROOT / "ui" / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["headless"] is True
    assert config["browser"]["gatherUsageStats"] is False


def test_makefile_run_binds_loopback() -> None:
    """`make run` starts `assistant ui` without a --host, and its default is 127.0.0.1."""
    from click.testing import CliRunner

    from assistant.cli import cli

    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    runs = [line for line in text.splitlines() if "assistant ui" in line or "streamlit run" in line]
    assert runs, "the Makefile starts the app"
    for line in runs:
        assert "assistant ui" in line and "--host" not in line and "0.0.0.0" not in line, line
    host = next(p for p in cli.commands["ui"].params if p.name == "host")
    assert host.default == "127.0.0.1"
    assert "127.0.0.1" in CliRunner().invoke(cli, ["ui", "--help"]).output


def test_every_chroma_server_we_document_or_start_binds_loopback() -> None:
    """`chroma run` lines in the README, Makefile, benchmarks and tests all pass --host 127.0.0.1."""
    files = [ROOT / "README.md", ROOT / "Makefile", *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "tests").glob("*.py")]
    files = [p for p in files if p.name != Path(__file__).name]  # not this file's own pattern
    found = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"chroma run --[^\n]*|\[[^\]\n]*\"run\", \"--path\"[^\]\n]*\]", text):
            found += 1
            assert re.search(r"--host[\"', ]+127\.0\.0\.1", m.group(0)), f"{path.name}: {m.group(0)}"
    assert found >= 3


class _FakeXllamacpp:
    """Stands in for the native module: records the server parameters instead of loading a model."""

    def __init__(self) -> None:
        self.params: list[Any] = []
        outer = self

        class CommonParams:
            def __init__(self) -> None:
                self.model = SimpleNamespace(path=None)
                self.cpuparams = SimpleNamespace(n_threads=0)
                self.cpuparams_batch = SimpleNamespace(n_threads=0)

        class Server:
            def __init__(self, params: Any) -> None:
                outer.params.append(params)
                self.listening_address = "http://127.0.0.1:5999"

        self.CommonParams, self.Server = CommonParams, Server


@pytest.fixture
def fake_xllamacpp(monkeypatch: pytest.MonkeyPatch) -> _FakeXllamacpp:
    """The native module replaced by a recorder, and the readiness wait skipped."""
    fake = _FakeXllamacpp()
    monkeypatch.setitem(sys.modules, "xllamacpp", fake)
    monkeypatch.setattr(local_model.LocalModelServer, "_wait_ready", lambda self, url, timeout: None)
    return fake


def test_local_model_server_binds_loopback_with_a_fresh_random_key(tmp_path: Path, fake_xllamacpp: _FakeXllamacpp) -> None:
    fake = fake_xllamacpp
    servers = [local_model.LocalModelServer(tmp_path / "m.gguf", context_size=512, threads=1) for _ in range(2)]
    keys = [s.api_key for s in servers]
    for params, key in zip(fake.params, keys):
        assert params.hostnames == ["127.0.0.1"]
        assert params.port == 0  # a free port chosen by the server, never a fixed public one
        assert params.api_keys == [key]
        assert params.ui is False
    assert keys[0] != keys[1] and all(len(k) >= 32 for k in keys)
    assert all(s.base_url.startswith("http://127.0.0.1:") for s in servers)
    assert all(k not in repr(s) for s, k in zip(servers, keys))


def test_local_model_server_keeps_no_prompt_cache_in_host_memory(tmp_path: Path, fake_xllamacpp: _FakeXllamacpp) -> None:
    """llama.cpp's host-memory prompt cache (8 GiB by default) grew the process ~6 MB a question."""
    local_model.LocalModelServer(tmp_path / "m.gguf", context_size=512, threads=1)
    assert fake_xllamacpp.params[0].cache_ram_mib == 0


def test_model_file_is_checked_against_the_published_sha256() -> None:
    assert local_model.MODEL_SHA256 == PUBLISHED_SHA256
    import inspect

    assert inspect.signature(local_model.model_file).parameters["sha256"].default == PUBLISHED_SHA256


@pytest.mark.slow
def test_real_local_model_server_refuses_requests_without_its_key() -> None:
    settings = make_settings(ROOT / ".cache" / "unused-data")
    target = Path(settings.models_dir) / local_model.MODEL_FILENAME
    if not target.is_file():
        pytest.skip(f"{target} is not assembled yet (run the slow model tests once)")
    local_model.shutdown_local_server()
    try:
        server = local_model.get_local_server(settings.model_copy(update={"llm_context_size": 512}))
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(trust_env=False, timeout=10) as client:
            assert client.get(f"{server.base_url}/models").status_code == 401
            bad = client.get(f"{server.base_url}/models", headers={"Authorization": "Bearer wrong"})
            assert bad.status_code == 401
            good = client.get(f"{server.base_url}/models", headers={"Authorization": f"Bearer {server.api_key}"})
            assert good.status_code == 200
    finally:
        local_model.shutdown_local_server()
