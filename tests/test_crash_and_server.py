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


def _papers_file(path: Path, prefix: str, n: int) -> Path:
    rows = [
        {"arxiv_id": f"{prefix}.{i:05d}", "title": f"Study {prefix} number {i} of lock waiting",
         "abstract": f"We study writer number {prefix} and item {i}. It waits for the other writer.", "date": "2025-03-03"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_concurrent_ingests_wait_for_each_other_and_both_are_stored(tmp_path: Path) -> None:
    """Two `assistant ingest` processes on one data dir while a third writer holds the lock: both
    say on stderr that they wait, then run one after the other; both paper sets end up stored."""
    from filelock import FileLock

    data = tmp_path / "data"
    data.mkdir()
    files = [_papers_file(tmp_path / "a.jsonl", "2501", 6), _papers_file(tmp_path / "b.jsonl", "2502", 6)]
    holder = FileLock(str(data / ".write.lock"))
    holder.acquire()
    errs = [tmp_path / f"{f.stem}.err" for f in files]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "assistant", "ingest", str(f), "--json"], env=_env(data),
            stdout=subprocess.PIPE, stderr=e.open("w"), text=True, cwd=tmp_path,
        )
        for f, e in zip(files, errs)
    ]
    try:
        deadline = time.monotonic() + 300
        while not all("waiting" in e.read_text() for e in errs) and time.monotonic() < deadline:
            assert all(p.poll() is None for p in procs), [e.read_text()[-2000:] for e in errs]
            time.sleep(0.5)
        assert all(p.poll() is None for p in procs), [e.read_text()[-2000:] for e in errs]
    finally:
        holder.release()
    outs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out, e in zip(procs, outs, errs):
        err = e.read_text()
        assert p.returncode == 0, err[-2000:]
        assert "waiting" in err and "ASSISTANT_WRITE_LOCK_TIMEOUT" in err, err[-2000:]
        assert json.loads(out)["new"] == 6
    app = Assistant(make_settings(data))
    ids = {p.paper_id for p in app.store.iter_papers()}
    assert ids == {f"{prefix}.{i:05d}" for prefix in ("2501", "2502") for i in range(6)}
    assert check_consistency(app.store) == {
        "papers": 12, "orphan_chunks": 0, "papers_missing_chunks": 0, "keyword_index_mismatch": 0
    }
    # the vector index of the second writer holds the first writer's chunks too
    vector = app.embedder.embed(["a writer waits for the other writer"])[0]
    assert {pid for _, pid, _ in app.store.nearest_chunk_ids(vector, 50)} == ids
    app.close()


def test_a_store_being_created_by_another_process_is_waited_for(tmp_path: Path) -> None:
    """Chroma's schema migrations race when two first runs create one store at once ("table
    collections already exists" in 3 of 16 processes started in pairs): creation is serialised
    by a lock in the data dir, so a second process waits for the first instead of failing."""
    from filelock import FileLock

    data = tmp_path / "data"
    data.mkdir()
    creating = FileLock(str(data / ".chroma-create.lock"))
    creating.acquire()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "stats", "--json"], env=_env(data),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
        time.sleep(6)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert not (data / "chroma").exists(), "nothing is created while another process creates the store"
    finally:
        creating.release()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert json.loads(out)["chunks"] == 0


def test_writer_waits_then_runs_or_gives_up_naming_the_setting(
    settings, caplog: pytest.LogCaptureFixture  # type: ignore[no-untyped-def]
) -> None:
    import threading

    from assistant.errors import StoreError

    app = Assistant(settings)
    app.store.chunk_total()  # Chroma open, so the writer below asks for the lock while it is held
    other = app.store.write_lock()
    held = threading.Event()

    def hold_for_a_second() -> None:  # filelock's locks are per thread: acquire and release in one
        with other:
            held.set()
            time.sleep(2.0)

    threading.Thread(target=hold_for_a_second).start()
    held.wait(10)
    with caplog.at_level("WARNING", logger="assistant.store"), app.store.writing(timeout=30):
        pass  # got the lock once the other writer let go
    assert "waiting up to 30 s" in caplog.text
    with other, pytest.raises(StoreError, match="ASSISTANT_WRITE_LOCK_TIMEOUT") as caught:
        with app.store.writing(timeout=0.5):
            pass
    assert "None" not in str(caught.value)
    app.close()


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
