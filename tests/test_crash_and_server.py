"""Resume after SIGKILL, the write lock, and Chroma server mode against a real `chroma run`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.ingest import check_consistency
from assistant.service import Assistant
from tests.conftest import SEED_YEAR, SEEDS, make_settings

QUERIES = ["semi-supervised text spotting", "Nash mirror prox", "LiDAR quantization", "video diffusion editing"]


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data)
    return env


def _ingest_cmd() -> list[str]:
    return [sys.executable, "-m", "assistant", "ingest", str(SEEDS), "--year", str(SEED_YEAR), "--json"]


def _ranking(app: Assistant) -> list[list[str]]:
    return [[h.paper.paper_id for h in app.search(q, k=5)] for q in QUERIES]


@pytest.mark.parametrize("kill_after", [4.0, 9.0])
def test_sigkill_mid_ingest_then_rerun_is_identical(
    kill_after: float, seeded_dir: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(_ingest_cmd(), env=_env(data), stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    time.sleep(kill_after)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    rerun = subprocess.run(_ingest_cmd(), env=_env(data), capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["new"] + report["unchanged"] + report["updated"] == 310
    app = Assistant(make_settings(data))
    assert check_consistency(app.store) == {
        "papers": 310, "orphan_chunks": 0, "papers_missing_chunks": 0, "keyword_index_mismatch": 0
    }
    clean = Assistant(make_settings(seeded_dir))
    assert _ranking(app) == _ranking(clean)
    assert {p.paper_id: p.dates for p in app.store.iter_papers()} == {p.paper_id: p.dates for p in clean.store.iter_papers()}


def test_second_writer_waits_for_the_lock(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    lock = app.store.write_lock(timeout=0.5)
    with lock:
        from assistant.errors import StoreError

        with pytest.raises(StoreError, match="write lock"):
            with app.store.writing(timeout=0.5):
                pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        pytest.skip("the `chroma` command is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "chroma-server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("chroma run did not start within 60 s")
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def test_chroma_server_mode(chroma_server: int, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", chroma_host="127.0.0.1", chroma_port=chroma_server)
    app = Assistant(settings)
    report = app.ingest([SEEDS / "000_211f387303ee8c8f.txt"], year=SEED_YEAR, progress=False)
    assert report.new > 0
    stats = app.stats()
    assert stats["store"] == "server" and stats["chunks"] >= report.new
    assert "Nash" in app.search("Nash mirror prox", k=3)[0].paper.title
    assert not (tmp_path / "data" / "chroma").exists()  # vectors live in the server, not the data dir
