"""Crash-stress: kill `assistant ingest` with SIGKILL at random points, re-run it, check nothing is lost.

Corpus: the five seed pages (examples/daily-papers, --year 2025) plus the first `--rows` rows of
../shared/data/hf_daily_papers/hf_daily_papers.jsonl.gz (read in place; the row sample is written to
a scratch dir outside the repo). A clean reference store is built once (no kill) and reused while
the code and the corpus are unchanged. Each trial then:

1. starts `assistant ingest SEEDS ROWS --year 2025 --json` on an empty data dir and sends it SIGKILL
   after a random delay (stratified over the reference ingest time, so kills spread over the run);
2. records how far it got (paper rows committed, chunks in Chroma), then re-runs the same command;
3. checks, against the reference: `check_consistency` (Chroma, paper table and keyword index agree),
   zero duplicates (extra paper rows, extra or duplicate chunk ids, repeated ids in the keyword
   index), zero lost papers or chunks, every paper's content hash and dates equal, and the ranked
   results (ids and scores) of fixed queries identical to the clean run.

Writes benchmarks/results/crash.md and crash.json. Run:
`python -m benchmarks.crash_stress [--trials 20] [--rows 600] [--seed 8]`.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from benchmarks.ingest_bench import QUERIES as INGEST_QUERIES
from benchmarks.results_io import write_result

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "examples" / "daily-papers"
SEED_YEAR = 2025
DATA = ROOT.parent / "shared" / "data" / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
RESULTS = ROOT / "benchmarks" / "results"
QUERIES = ["Nash mirror prox", "video diffusion editing", *INGEST_QUERIES]
"""The ingest benchmark's queries over the HF rows, plus two about seed-page papers."""
K = 10
LOW, HIGH = 0.25, 0.9  # kill delays as fractions of the clean ingest time: most fall while batches commit (start-up is ~10 s)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(data_dir)
    env["ANONYMIZED_TELEMETRY"] = "False"
    env["ASSISTANT_READ_AFTER_INGEST"] = "off"  # no reader outliving a killed or finished run
    return env


def _cmd(rows: Path) -> list[str]:
    return [sys.executable, "-m", "assistant", "ingest", str(SEEDS), str(rows), "--year", str(SEED_YEAR), "--json"]


def _code_key(rows: int) -> str:
    """Changes when the code, the seed pages or the row sample change: the reference is rebuilt then."""
    h = hashlib.sha256(f"rows={rows}".encode())
    for path in sorted([*(ROOT / "assistant").rglob("*.py"), *SEEDS.glob("*")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _write_rows(n: int, dest: Path) -> Path:
    out = dest / f"hf_rows_{n}.jsonl"
    if not out.exists():
        tmp = out.with_suffix(".tmp")
        with gzip.open(DATA, "rt", encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
            for _, line in zip(range(n), src):
                dst.write(line)
        tmp.replace(out)
    return out


def _run(rows: Path, data_dir: Path, log: Path, timeout: float) -> tuple[int, dict[str, Any] | None, float, str]:
    start = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.run(
            _cmd(rows), env=_env(data_dir), stdout=subprocess.PIPE, stderr=err, text=True,
            cwd=data_dir.parent, timeout=timeout, check=False,
        )
    seconds = time.perf_counter() - start
    report = json.loads(proc.stdout) if proc.returncode == 0 and proc.stdout.strip() else None
    tail = log.read_text(errors="replace").strip().splitlines()[-1:] if proc.returncode else []
    return proc.returncode, report, seconds, (tail[0] if tail else "")


def _killed_run(rows: Path, data_dir: Path, log: Path, after: float) -> tuple[bool, float]:
    """Start an ingest and SIGKILL it after `after` seconds; (was it still running when killed, elapsed)."""
    start = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.Popen(
            _cmd(rows), env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=err, cwd=data_dir.parent,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=after)
            return False, time.perf_counter() - start  # finished before the kill: not a crash trial
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return True, time.perf_counter() - start


def _count(db_path: Path, table: str) -> int:
    """Rows of `table` in the SQLite file `db_path`; 0 when the file or the table is not there yet."""
    if not db_path.exists():
        return 0
    db = sqlite3.connect(db_path, timeout=30)
    try:
        return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def _progress_at_kill(data_dir: Path) -> tuple[int, int]:
    """(paper rows committed, chunk rows in Chroma's own SQLite) of a store left by a killed ingest."""
    return _count(data_dir / "papers.sqlite", "papers"), _count(data_dir / "chroma" / "chroma.sqlite3", "embeddings")


class Snapshot:
    """Everything compared between a trial store and the clean reference."""

    def __init__(self, data_dir: Path, embedder: Any) -> None:
        from assistant.config import Settings
        from assistant.ingest import check_consistency
        from assistant.service import Assistant

        app = Assistant(Settings(_env_file=None, data_dir=data_dir, read_after_ingest="off"))  # type: ignore[call-arg]
        app.__dict__["embedder"] = embedder  # one query embedder for every store
        try:
            store = app.store
            self.consistency = check_consistency(store)
            self.papers = {p.paper_id: (p.content_hash, tuple(p.dates)) for p in store.iter_papers()}
            chunk_ids = list(store.chunk_hashes())
            self.chunk_ids = set(chunk_ids)
            self.duplicate_chunk_ids = len(chunk_ids) - len(self.chunk_ids)
            kw_ids = store.keyword_index().ids
            self.keyword_ids = set(kw_ids)
            self.duplicate_keyword_ids = len(kw_ids) - len(self.keyword_ids)
            self.rankings = [
                [(h.paper.paper_id, round(h.score, 6)) for h in app.search(q, k=K)] for q in QUERIES
            ]
        finally:
            app.close()
            _drop_chroma_clients()


def _drop_chroma_clients() -> None:
    """Chroma caches one system per path in the process; drop them so deleted dirs are not reused."""
    from chromadb.api.client import SharedSystemClient

    SharedSystemClient.clear_system_cache()


def _compare(got: Snapshot, ref: Snapshot) -> dict[str, Any]:
    lost_papers = len(ref.papers.keys() - got.papers.keys())
    extra_papers = len(got.papers.keys() - ref.papers.keys())
    changed = sum(1 for pid, v in got.papers.items() if pid in ref.papers and ref.papers[pid] != v)
    lost_chunks = len(ref.chunk_ids - got.chunk_ids)
    extra_chunks = len(got.chunk_ids - ref.chunk_ids)
    c = got.consistency
    consistent = (
        c["orphan_chunks"] == 0 and c["papers_missing_chunks"] == 0 and c["keyword_index_mismatch"] == 0
        and got.keyword_ids == set(got.papers)
    )
    return {
        "consistent": consistent,
        "consistency": c,
        "duplicates": extra_papers + extra_chunks + got.duplicate_chunk_ids + got.duplicate_keyword_ids,
        "lost": lost_papers,
        "lost_chunks": lost_chunks,
        "changed_papers": changed,
        "search_identical": got.rankings == ref.rankings,
        "search_same_ids": [[p for p, _ in r] for r in got.rankings] == [[p for p, _ in r] for r in ref.rankings],
        "max_score_diff": max(
            (abs(a - b) for gr, rr in zip(got.rankings, ref.rankings) for (_, a), (_, b) in zip(gr, rr)), default=0.0
        ),
    }


def _reference(rows: Path, work: Path, key: str, embedder: Any) -> tuple[Path, float, dict[str, Any]]:
    ref_dir = work / f"reference-{key}" / "data"
    meta_path = ref_dir.parent / "reference.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        print(f"reusing the clean reference store {ref_dir} ({meta['seconds']:.0f} s to build)", file=sys.stderr)
        return ref_dir, float(meta["seconds"]), meta["report"]
    for old in work.glob("reference-*"):
        shutil.rmtree(old, ignore_errors=True)
    ref_dir.mkdir(parents=True)
    print("building the clean reference store (one uninterrupted ingest)…", file=sys.stderr)
    rc, report, seconds, tail = _run(rows, ref_dir, ref_dir.parent / "ingest.log", timeout=7200)
    if rc != 0 or report is None:
        raise SystemExit(f"the reference ingest failed (exit {rc}): {tail}")
    meta_path.write_text(json.dumps({"seconds": seconds, "report": report}))
    return ref_dir, seconds, report


def _write_results(result: dict[str, Any]) -> None:
    t = result["totals"]
    lines = [
        "# Crash stress: SIGKILL during `assistant ingest`, then re-run",
        "",
        f"Command: `{result['command']}` · run {result['date']} · machine: {result['machine']}",
        "",
        f"Corpus: the 5 seed pages (`--year {SEED_YEAR}`) + the first {result['rows']} rows of "
        f"`hf_daily_papers.jsonl.gz` = {result['papers']} papers, {result['chunks']} chunks. "
        f"Clean reference ingest: {result['reference_seconds']:.0f} s. Kill delays are stratified over "
        f"{LOW:.2f}-{HIGH:.2f} of that time (process start and model load included), in random order; a run "
        "that finished before its kill is retried with a 30% shorter delay.",
        "",
        "Each trial kills a fresh ingest with SIGKILL, records what was committed (paper rows, Chroma "
        "chunk rows), re-runs the same command to completion, then compares with the clean reference: "
        "`check_consistency` (paper table, Chroma and keyword index agree), duplicates (extra paper rows, "
        "extra or repeated chunk ids, repeated keyword-index ids), lost papers and chunks, content hashes "
        f"and dates of every paper, and the top-{K} ids and scores of {len(QUERIES)} queries.",
        "",
        "Scores may differ in the last decimals while rankings are identical: bulk embedding runs in "
        "bfloat16, whose rounding depends on which texts share a batch (padding length), and a resumed "
        "ingest batches the remaining papers differently from a clean run.",
        "",
        "## Totals",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        f"| trials (ingest killed mid-run) | {t['killed']} of {t['trials']} | ≥ 20 |",
        f"| re-runs that succeeded | {t['rerun_ok']} | all |",
        f"| consistent after re-run | {t['consistent']} | all |",
        f"| duplicates (sum over trials) | {t['duplicates']} | 0 |",
        f"| lost papers (sum over trials) | {t['lost']} | 0 |",
        f"| lost chunks (sum over trials) | {t['lost_chunks']} | 0 |",
        f"| papers whose hash or dates differ | {t['changed_papers']} | 0 |",
        f"| search rankings (top-{K} ids) identical to the clean run | {t.get('search_same_ids', '-')} of {t['trials']} | all |",
        f"| ... and scores identical to 6 decimals | {t['search_identical']} of {t['trials']} | |",
        f"| total runtime | {t['runtime_s'] / 60:.1f} min | |",
        "",
        "## Trials",
        "",
        "| # | kill after (s) | papers committed at kill | chunks at kill | re-run new / updated / unchanged | "
        "re-run (s) | consistent | duplicates | lost | same ranking | scores identical |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["trials"]:
        rr = r.get("rerun_report") or {}
        lines.append(
            f"| {r['trial']} | {r['kill_after_s']:.1f}{'' if r['killed'] else ' (finished first)'} | "
            f"{r['papers_at_kill']} | {r['chunks_at_kill']} | "
            f"{rr.get('new', '-')} / {rr.get('updated', '-')} / {rr.get('unchanged', '-')} | {r['rerun_s']:.1f} | "
            f"{'yes' if r.get('consistent') else 'NO'} | {r.get('duplicates', '-')} | {r.get('lost', '-')} | "
            f"{'yes' if r.get('search_same_ids') else 'NO'} | {'yes' if r.get('search_identical') else 'no'} |"
        )
    write_result("crash", lines, result, RESULTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="SIGKILL trials (default 20)")
    parser.add_argument("--render-only", action="store_true", help="rewrite crash.md from crash.json, run nothing")
    parser.add_argument("--rows", type=int, default=600, help="rows of the shared HF Daily Papers file (default 600: ~900 papers, ~1.5 min per trial here)")
    parser.add_argument("--seed", type=int, default=8, help="random seed of the kill delays")
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "paper-digest-crash-stress",
        help="scratch dir outside the repo (row sample, reference store, trial stores)",
    )
    parser.add_argument("--data", type=Path, default=DATA, help="the HF Daily Papers JSONL(.gz) to sample rows from")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where crash.md and crash.json go")
    args = parser.parse_args()
    globals().update(DATA=args.data, RESULTS=args.results)  # read by _write_rows and _write_results
    if args.render_only:
        result = json.loads((RESULTS / "crash.json").read_text())
        trials = result["trials"]
        result["totals"]["search_same_ids"] = sum(bool(r.get("search_same_ids")) for r in trials)
        _write_results(result)
        return
    if not DATA.exists():
        raise SystemExit(
            f"{DATA} is absent: the crash-stress benchmark needs ../shared/data (not redistributed); nothing was run"
        )
    if args.trials < 1 or args.rows < 1:
        raise SystemExit("--trials and --rows must be at least 1")
    began = time.perf_counter()
    args.work.mkdir(parents=True, exist_ok=True)
    rows = _write_rows(args.rows, args.work)

    from assistant.config import Settings
    from assistant.embeddings import make_embedder

    embedder = make_embedder(Settings(_env_file=None, data_dir=args.work / "unused"))  # type: ignore[call-arg]
    ref_dir, ref_seconds, ref_report = _reference(rows, args.work, _code_key(args.rows), embedder)
    ref = Snapshot(ref_dir, embedder)
    if any(ref.consistency[k] for k in ("orphan_chunks", "papers_missing_chunks", "keyword_index_mismatch")):
        raise SystemExit(f"the clean reference store is itself inconsistent: {ref.consistency}")

    rng = random.Random(args.seed)
    fractions = [LOW + (HIGH - LOW) * (i + rng.random()) / args.trials for i in range(args.trials)]
    rng.shuffle(fractions)
    command = "python -m benchmarks.crash_stress " + " ".join(sys.argv[1:])
    result: dict[str, Any] = {
        "command": command.strip(),
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        "rows": args.rows,
        "papers": len(ref.papers),
        "chunks": len(ref.chunk_ids),
        "reference_seconds": round(ref_seconds, 1),
        "reference_report": {k: v for k, v in ref_report.items() if k != "errors"},
        "queries": QUERIES,
        "trials": [],
    }
    for i, frac in enumerate(fractions, start=1):
        trial_dir = args.work / f"trial-{i:02d}" / "data"
        shutil.rmtree(trial_dir.parent, ignore_errors=True)
        trial_dir.mkdir(parents=True)
        after = frac * ref_seconds
        killed, _ = _killed_run(rows, trial_dir, trial_dir.parent / "killed.log", after)
        for _retry in range(2):  # finished before the kill (the machine was faster): kill earlier
            if killed:
                break
            shutil.rmtree(trial_dir, ignore_errors=True)
            trial_dir.mkdir(parents=True)
            after *= 0.7
            killed, _ = _killed_run(rows, trial_dir, trial_dir.parent / "killed.log", after)
        papers_at_kill, chunks_at_kill = _progress_at_kill(trial_dir)
        rc, report, rerun_s, tail = _run(rows, trial_dir, trial_dir.parent / "rerun.log", timeout=7200)
        row: dict[str, Any] = {
            "trial": i, "kill_after_s": round(after, 1), "killed": killed, "papers_at_kill": papers_at_kill,
            "chunks_at_kill": chunks_at_kill, "rerun_exit": rc, "rerun_s": round(rerun_s, 1),
            "rerun_report": {k: v for k, v in (report or {}).items() if k != "errors"} or None,
        }
        if rc == 0:
            row.update(_compare(Snapshot(trial_dir, embedder), ref))
        else:
            row.update({"consistent": False, "error": tail})
        result["trials"].append(row)
        print(
            f"trial {i}/{args.trials}: kill after {after:.1f}s ({'killed' if killed else 'finished first'}) "
            f"at {papers_at_kill} papers/{chunks_at_kill} chunks; re-run {rerun_s:.0f}s exit {rc}; "
            f"consistent={row.get('consistent')} duplicates={row.get('duplicates')} lost={row.get('lost')} "
            f"identical={row.get('search_identical')}",
            file=sys.stderr, flush=True,
        )
        shutil.rmtree(trial_dir.parent, ignore_errors=True)
        trials = result["trials"]
        result["totals"] = {
            "trials": len(trials),
            "killed": sum(r["killed"] for r in trials),
            "rerun_ok": sum(r["rerun_exit"] == 0 for r in trials),
            "consistent": sum(bool(r.get("consistent")) for r in trials),
            "duplicates": sum(r.get("duplicates", 0) for r in trials),
            "lost": sum(r.get("lost", 0) for r in trials),
            "lost_chunks": sum(r.get("lost_chunks", 0) for r in trials),
            "changed_papers": sum(r.get("changed_papers", 0) for r in trials),
            "search_identical": sum(bool(r.get("search_identical")) for r in trials),
            "search_same_ids": sum(bool(r.get("search_same_ids")) for r in trials),
            "runtime_s": round(time.perf_counter() - began, 1),
        }
        _write_results(result)  # after every trial: a long run leaves partial results if stopped
    t = result["totals"]
    print(
        f"{t['killed']}/{t['trials']} killed, {t['consistent']} consistent, {t['duplicates']} duplicates, "
        f"{t['lost']} lost, {t['search_identical']} identical searches, {t['runtime_s'] / 60:.1f} min; "
        f"wrote {RESULTS / 'crash.md'}",
        file=sys.stderr,
    )
    ok = t["consistent"] == t["trials"] and t["duplicates"] == 0 and t["lost"] == 0 and t["search_same_ids"] == t["trials"]
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
