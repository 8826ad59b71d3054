"""Faults of the storage under the assistant: a read-only data dir, a full disk, a Chroma server that
stops mid-session and comes back.

The read-only and full-disk cases are real, not simulated: the CLI runs in a private mount namespace
(`unshare -m`, or `unshare -rm` as a normal user) where the data dir is a read-only bind mount or a
tiny tmpfs, so SQLite, Chroma and bm25s meet the kernel's EROFS / ENOSPC exactly as on a laptop whose
disk filled up. Tests skip when mount namespaces are not available.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import AssistantError, StoreError
from assistant.ingest import check_consistency
from assistant.service import Assistant
from tests.conftest import SEED_YEAR, SEEDS, make_settings

QUERIES = ["semi-supervised text spotting", "Nash mirror prox", "LiDAR quantization"]
PY = shlex.quote(sys.executable)


# --------------------------------------------------------------------------- helpers


def _unshare() -> list[str]:
    return ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]


@pytest.fixture(scope="module")
def mount_ns() -> list[str]:
    """The command prefix for a private mount namespace, or skip with the reason."""
    if not shutil.which("unshare"):
        pytest.skip("`unshare` (util-linux) is not installed: cannot mount a read-only or full data dir")
    probe = subprocess.run(
        [*_unshare(), "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d"],
        capture_output=True, text=True, timeout=30,
    )
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces are not available here: {probe.stderr.strip()}")
    return _unshare()


def _ns_script(mount_ns: list[str], script: str, cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    proc = subprocess.run(
        [*mount_ns, "sh", "-c", script], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout
    )
    assert proc.returncode == 0, f"namespace script failed: {proc.stderr[-2000:]}"
    return proc.stdout


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_") and k != "OPENAI_API_KEY"}
    env.update(ASSISTANT_DATA_DIR=str(data), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    return env


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _tree_bytes(root: Path) -> int:
    """Bytes `root` takes on a tmpfs (whole 4 KiB pages per file)."""
    return sum(-(-p.stat().st_size // 4096) * 4096 for p in root.rglob("*") if p.is_file())


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def _assert_one_clear_line(stderr: str, *parts: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = _error_lines(stderr)
    assert len(errors) == 1, stderr[-3000:]
    for part in parts:
        assert part in errors[0], errors[0]
    return errors[0]


def _new_papers(path: Path, n: int) -> Path:
    """`n` synthetic papers with long abstracts (several KB each in Chroma's tables)."""
    words = "graph diffusion transformer quantization agent reward policy token vision retrieval".split()
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            abstract = " ".join(
                f"Sentence {j} of study {i} shows that {words[(i + j) % 10]} with {words[(i * j) % 10]} "
                f"improves accuracy by {(i * 7 + j) % 97} points on benchmark {j}." for j in range(12)
            )
            row = {"arxiv_id": f"2611.{i:05d}", "title": f"Synthetic study {i} of {words[i % 10]}", "abstract": abstract,
                   "date": "2026-11-02"}
            out.write(json.dumps(row) + "\n")
    return path


def _rankings(app: Assistant) -> list[dict[str, float]]:
    """Each query's top 10 papers with their scores."""
    return [{h.paper.paper_id: h.score for h in app.search(q, k=10)} for q in QUERIES]


def _store_differences(a: Assistant, b: Assistant) -> list[str]:
    """What differs between two stores' contents: chunk ids and hashes, and each chunk's vector (to 1e-4).

    A resumed ingest embeds its papers in other batches than a clean one, so vectors may differ in
    their last bits; a lost, stale or half-written paper changes an id, a hash or a vector far more.
    """
    hashes_a, hashes_b = a.store.chunk_hashes(), b.store.chunk_hashes()
    out = [f"chunk {c}: {hashes_a.get(c)} vs {hashes_b.get(c)}" for c in sorted({*hashes_a, *hashes_b})
           if hashes_a.get(c) != hashes_b.get(c)]
    ids = sorted(p.paper_id for p in a.store.iter_papers())
    va, vb = a.store.chunk_vectors(ids, texts=False), b.store.chunk_vectors(ids, texts=False)
    for pid in ids:
        x, y = va.get(pid, (np.zeros(0),))[0], vb.get(pid, (np.zeros(0),))[0]
        if x.shape != y.shape or (x.size and float(np.abs(x - y).max()) > 1e-4):
            out.append(f"vectors of {pid}: {x.shape} vs {y.shape}")
    return out


def _ranking_differences(a: list[dict[str, float]], b: list[dict[str, float]]) -> list[str]:
    """Papers in one store's top 5 that the other ranks outside its top 10, per query.

    Dense search is approximate (HNSW), and its graph depends on the order chunks were inserted, so
    two stores with equal contents may order near-tied papers differently; a lost or stale paper
    drops out of the lists altogether.
    """
    out = []
    for query, x, y in zip(QUERIES, a, b):
        for top, other, side in ((x, y, "resumed"), (y, x, "clean")):
            out += [f"{query!r}: {pid} in the {side} top 5 only" for pid in list(top)[:5] if pid not in other]
    return out


PROBE = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1] + "/papers.sqlite")
print(json.dumps({
    "papers": db.execute("SELECT COUNT(*) FROM papers").fetchone()[0],
    "ids": sorted(r[0] for r in db.execute("SELECT paper_id FROM papers")),
    "integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
}))
"""


# --------------------------------------------------------------------------- read-only data dir


def test_read_only_data_dir_is_one_clear_line_and_changes_nothing(
    mount_ns: list[str], seeded_copy: Path, tmp_path: Path
) -> None:
    new = _new_papers(tmp_path / "new.jsonl", 5)
    before = _tree_digest(seeded_copy)
    d, out = shlex.quote(str(seeded_copy)), tmp_path / "out"
    out.mkdir()
    script = f"""
mount --bind {d} {d} && mount -o remount,bind,ro {d} || exit 1
{PY} -m assistant ingest {shlex.quote(str(new))} --json > {out}/ingest.out 2> {out}/ingest.err; echo "ingest=$?"
{PY} -m assistant search "Nash mirror prox" --k 3 --json > {out}/search.out 2> {out}/search.err; echo "search=$?"
"""
    codes = dict(line.split("=") for line in _ns_script(mount_ns, script, tmp_path, _env(seeded_copy)).split())
    assert codes == {"ingest": "1", "search": "1"}
    for cmd in ("ingest", "search"):
        _assert_one_clear_line((out / f"{cmd}.err").read_text(), str(seeded_copy), "read-only", "ASSISTANT_DATA_DIR")
        assert (out / f"{cmd}.out").read_text() == "", "no partial JSON on stdout"

    # the store is untouched and still healthy once writable again
    assert _tree_digest(seeded_copy) == before
    app = Assistant(make_settings(seeded_copy))
    assert check_consistency(app.store) == {
        "papers": 310, "orphan_chunks": 0, "papers_missing_chunks": 0, "keyword_index_mismatch": 0
    }
    app.close()


def test_read_only_message_names_the_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same message without a mount: the store sees a read-only dir when SQLite cannot open."""
    import sqlite3

    from assistant.store import paper_table

    def refuse(*args: object, **kwargs: object) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(paper_table.sqlite3, "connect", refuse)
    monkeypatch.setattr(paper_table, "read_only", lambda path: True)
    with pytest.raises(StoreError) as caught:
        Assistant(make_settings(tmp_path / "data")).store  # noqa: B018
    msg = str(caught.value)
    assert "\n" not in msg and "read-only" in msg and str(tmp_path / "data") in msg and "ASSISTANT_DATA_DIR" in msg


# --------------------------------------------------------------------------- full disk


@pytest.mark.slow
def test_full_data_dir_is_one_clear_line_then_resumes_without_loss(
    mount_ns: list[str], seeded_dir: Path, tmp_path: Path
) -> None:
    """A tmpfs just bigger than the seeded store: ingesting 150 more papers hits ENOSPC midway.

    Expected: exit 1 with one line naming the data dir and the free space; the paper table intact
    (every seed paper still there, integrity ok); after freeing space (tmpfs remounted bigger) the
    same command finishes and the store equals a clean ingest of the same papers.
    """
    new = _new_papers(tmp_path / "new.jsonl", 150)
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    data = mnt / "data"
    size_kb = (_tree_bytes(seeded_dir) + 400 * 1024) // 1024
    q = shlex.quote
    ingest = f"{PY} -m assistant ingest {q(str(new))} --json"
    script = f"""
mount -t tmpfs -o size={size_kb}k tmpfs {q(str(mnt))} || exit 1
cp -a {q(str(seeded_dir))} {q(str(data))} || exit 1
{ingest} > {out}/full.out 2> {out}/full.err; echo "full=$?"
{PY} -c {q(PROBE)} {q(str(data))} > {out}/probe.json 2> {out}/probe.err
mount -o remount,size=512m {q(str(mnt))} || exit 1
{ingest} > {out}/rerun.out 2> {out}/rerun.err; echo "rerun=$?"
{PY} -m assistant search "Synthetic study of graph diffusion" --k 3 --json > {out}/search.out 2> {out}/search.err
cp -a {q(str(data))} {q(str(tmp_path / "after"))}
"""
    stdout = _ns_script(mount_ns, script, tmp_path, _env(data))
    codes = dict(line.split("=") for line in stdout.split())
    assert codes == {"full": "1", "rerun": "0"}, (out / "full.err").read_text()[-2000:]
    line = _assert_one_clear_line((out / "full.err").read_text(), str(data), "KB free", "re-run")
    assert (out / "full.out").read_text() == ""

    seeded = Assistant(make_settings(seeded_dir))
    seed_ids = sorted(p.paper_id for p in seeded.store.iter_papers())
    probe = json.loads((out / "probe.json").read_text())
    assert probe["integrity"] == "ok", line
    assert set(seed_ids) <= set(probe["ids"]), "a seed paper was lost when the disk filled up"
    assert 310 <= probe["papers"] < 310 + 150, "the ingest stopped part-way"

    report = json.loads((out / "rerun.out").read_text())
    assert report["new"] == 460 - probe["papers"] and report["errors"] == []
    assert json.loads((out / "search.out").read_text())["results"]

    # the resumed store equals a clean ingest of the same papers
    after = Assistant(make_settings(tmp_path / "after"), embedder=seeded.embedder)
    assert check_consistency(after.store) == {
        "papers": 460, "orphan_chunks": 0, "papers_missing_chunks": 0, "keyword_index_mismatch": 0
    }
    shutil.copytree(seeded_dir, tmp_path / "clean")
    clean = Assistant(make_settings(tmp_path / "clean"), embedder=seeded.embedder)
    clean.ingest([new], progress=False)
    assert not _store_differences(after, clean), _store_differences(after, clean)[:10]
    assert not _ranking_differences(_rankings(after), _rankings(clean)), _ranking_differences(_rankings(after), _rankings(clean))
    assert {p.paper_id: (p.content_hash, p.dates) for p in after.store.iter_papers()} == {
        p.paper_id: (p.content_hash, p.dates) for p in clean.store.iter_papers()
    }
    for app in (seeded, after, clean):
        app.close()


def test_disk_hint_only_when_space_is_low(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from collections import namedtuple

    from assistant.store import diagnostics

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 300 * 1024, 300 * 1024))
    hint = diagnostics.disk_hint(tmp_path)
    assert "300 KB free" in hint and str(tmp_path) in hint and "\n" not in hint
    monkeypatch.setattr(shutil, "disk_usage", lambda p: usage(10**12, 10**9, 10**11))
    assert diagnostics.disk_hint(tmp_path) == ""


# --------------------------------------------------------------------------- Chroma server stops and returns


class ChromaServer:
    """A real `chroma run` on 127.0.0.1 that a test can stop and start again on the same port and path."""

    def __init__(self, path: Path) -> None:
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        if not Path(exe).exists():
            pytest.skip("the `chroma` command is not installed")
        self.exe, self.path = exe, path
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    pytest.fail(f"chroma run exited with {self.proc.returncode}")
                time.sleep(0.3)
        self.stop()
        pytest.fail("chroma run did not start within 90 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc = None

    def listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "chroma-server")
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_chroma_server_stops_mid_session_then_comes_back(
    chroma: ChromaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    settings = make_settings(data, chroma_host="127.0.0.1", chroma_port=chroma.port)
    app = Assistant(settings)
    app.ingest([SEEDS / "000_211f387303ee8c8f.txt"], year=SEED_YEAR, progress=False)
    before = [[(h.paper.paper_id, round(h.score, 6)) for h in app.search(q, k=3)] for q in QUERIES]
    assert before[1] and "Nash" in app.search("Nash mirror prox", k=1)[0].paper.title

    chroma.stop()
    assert not chroma.listening()
    started = time.perf_counter()
    with pytest.raises(StoreError) as caught:
        app.search("Nash mirror prox", k=3)
    assert time.perf_counter() - started < 30, "a dead server must fail fast, not hang"
    msg = str(caught.value)
    assert isinstance(caught.value, AssistantError)
    assert "\n" not in msg and f"127.0.0.1:{chroma.port}" in msg and "chroma run" in msg, msg
    with pytest.raises(StoreError):
        app.stats()

    # the CLI, with the server down: exit 1 and one line, no traceback
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("ASSISTANT_CHROMA_PORT", str(chroma.port))
    for args in (["search", "Nash mirror prox", "--json"], ["stats", "--json"]):
        run = CliRunner().invoke(cli, args, obj={})
        assert run.exit_code == 1, run.output
        assert isinstance(run.exception, SystemExit), repr(run.exception)
        _assert_one_clear_line(run.stderr, f"127.0.0.1:{chroma.port}", "chroma run")
        assert run.stdout == ""

    # the server comes back on the same port and path: the same Assistant works again
    chroma.start()
    after = [[(h.paper.paper_id, round(h.score, 6)) for h in app.search(q, k=3)] for q in QUERIES]
    assert after == before
    report = app.ingest([sorted(SEEDS.glob("*.txt"))[1]], year=SEED_YEAR, progress=False)
    assert report.new > 0
    assert check_consistency(app.store)["orphan_chunks"] == 0
    assert check_consistency(app.store)["papers_missing_chunks"] == 0
    run = CliRunner().invoke(cli, ["search", "Nash mirror prox", "--json"], obj={})
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout)["results"]
    app.close()
