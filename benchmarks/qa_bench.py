"""Seed QA benchmark: cited answers over the five seed pages, per model back end.

Run from the repo root:

    python -m benchmarks.qa_bench [--backend embedded|fake] [--warm] [--limit N] [--ids f01,u03] [--tag NAME]

Cases are `benchmarks/qa_cases.jsonl` ({"id","question","type","expected","about"?}). The seed
pages are ingested once into `--data` (default .cache/bench-seeds/data, reused when complete).
Every case goes through `Assistant.ask_stream` exactly like `assistant ask`, timed at the
evidence event, the first non-empty token and the final answer. The store's kept sentence vectors
are cleared, then every paper is read untimed as ingest's reader does (`assistant/reading.py`; cold:
papers nobody asked about yet); `--unread` skips the reading (each question's papers are embedded at
question time, as before the reader reaches them); `--warm` runs the cases once untimed first (papers
asked about before). In every state the questions and drafts are embedded at question time.

Back ends:
  embedded  the packaged local model (started once, warmed up with one question not in the cases);
  fake      tests/fake_openai.py on 127.0.0.1 (its own process) answering instantly through the `openai` back end: it
            replies with the evidence sentence sharing most words with the question (or
            NOT_IN_PAPERS when none shares two), so its latency is our own overhead per question
            (retrieval, evidence focusing, prompt, HTTP, streaming, citation check).

Writes benchmarks/results/qa.json (one entry per back end and tag, merged with earlier runs) and
benchmarks/results/qa.md (tables for every entry, then per-case lines). The machine is shared:
the 1-minute load average is recorded before, during and after each run.

Longer than a library module on purpose: one benchmark is one self-contained run (store,
cases, timing, grading, report) read top to bottom; shared pieces are in `results_io.py` and
`seed_store.py`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.seed_store import ensure_seed_store

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "benchmarks" / "qa_cases.jsonl"
DEFAULT_DATA = ROOT / ".cache" / "bench-seeds" / "data"
MODELS = ROOT / ".cache" / "models"
RESULTS = ROOT / "benchmarks" / "results"
SEED_YEAR = 2025
WARMUP_QUESTION = "What is semi-supervised text spotting?"

TARGETS = {
    "cites_expected_supported": ">= 85%",
    "citations_in_range": "100%",
    "refusal_recall": ">= 90%",
    "false_refusals": "<= 5%",
    "first_token_p95_s": "<= 8 s (embedded, idle machine)",
    "full_answer_p95_s": "<= 30 s (embedded, idle machine)",
    "evidence_p95_s": "<= 1 s (warm)",
    "overhead_p95_ms": "<= 150 ms (fake endpoint)",
    "peak_rss_mb": "<= 3072 MB (embedded, with the model)",
}

log = logging.getLogger("qa_bench")


# --------------------------------------------------------------------------- cases and store


def load_cases(path: Path = CASES) -> list[dict[str, Any]]:
    cases = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for c in cases:
        assert c["type"] in ("factual", "method", "unanswerable"), c
        assert (c["type"] == "unanswerable") == (not c["expected"]), c
    return cases


def base_settings(data: Path, **overrides: Any):  # type: ignore[no-untyped-def]
    from assistant.config import Settings

    models = Path(os.environ.get("ASSISTANT_MODEL_CACHE_DIR", MODELS))
    overrides.setdefault("read_after_ingest", "wait")  # a store built here is complete when the timing starts
    return Settings(_env_file=None, data_dir=data, model_cache_dir=models, **overrides)  # type: ignore[call-arg]


def ensure_store(data: Path) -> dict[str, Any]:
    """Ingest the seed pages into `data` once; later runs reuse it (marker file `.complete`)."""
    return ensure_seed_store(base_settings(data), SEED_YEAR)


# --------------------------------------------------------------------------- the fake endpoint

_EVIDENCE_LINE = re.compile(r"^\[(\d+)\] (.+?) \((?:\d{4}-\d{2}-\d{2}|undated)\): (.*)$")
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]+")
_STOP = frozenset(
    """the a an of in on for to and or with by from what which how does do did is are was were that this
    these those it its their papers paper according get gets use used using about than at as much many
    when only""".split()
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def lexical_responder(messages: list[dict[str, Any]]) -> str:
    """A stand-in model for the fake endpoint: the evidence sentence sharing most words with the question."""
    from assistant.citations import split_sentences
    from assistant.prompts import CANNOT_ANSWER

    user = str(messages[-1].get("content", ""))
    if "Follow-up question:" in user:
        return user.split("Follow-up question:", 1)[1].split("\n", 1)[0].strip()
    question = user.split("Question:", 1)[1].split("\n", 1)[0] if "Question:" in user else user
    q = _words(question)
    best: tuple[int, str, int] = (0, "", 0)
    for line in user.splitlines():
        m = _EVIDENCE_LINE.match(line.strip())
        if not m:
            continue
        n = int(m.group(1))
        for sent in split_sentences(m.group(3)):
            score = len(q & _words(sent))
            if score > best[0]:
                best = (score, sent, n)
    if best[0] < 2:
        return CANNOT_ANSWER
    sent = best[1].rstrip().rstrip(".")
    return f"{sent} [{best[2]}]."


# --------------------------------------------------------------------------- running


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(app: Any, case: dict[str, Any], k: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    cpu0 = time.process_time()
    t_evidence = t_first = cpu_first = None
    evidence_ids: list[str] = []
    rendered = None
    draft: list[str] = []
    answer = None
    error = None
    try:
        for kind, value in app.ask_stream(case["question"], k=k):
            now = time.perf_counter() - started
            if kind == "evidence":
                t_evidence = now
                evidence_ids = [h.paper.paper_id for h in value.hits]
                if any(value.sentences):  # the evidence event may come before sentence focusing
                    rendered = len(value.render())
            elif kind == "token":
                draft.append(value)
                if t_first is None and value.strip():
                    t_first = now
                    cpu_first = time.process_time() - cpu0
            elif kind == "answer":
                answer = value
    except Exception as exc:  # a failed case is a result, not the end of the run
        error = f"{type(exc).__name__}: {exc}"
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    about = set(case.get("about", [])) | set(case["expected"])
    row: dict[str, Any] = {
        "id": case["id"],
        "type": case["type"],
        "split": case.get("split", "dev"),
        "question": case["question"],
        "error": error,
        "evidence_s": t_evidence,
        "first_token_s": t_first,
        "total_s": total,
        "cpu_s": cpu,
        "cpu_first_token_s": cpu_first,
        "prompt_chars": rendered,
        "draft": "".join(draft).strip(),
        "token_events": len(draft),
        "draft_tail": repr("".join(draft)[-24:]),
        "evidence_ids": evidence_ids,
        "expected_in_evidence": bool(about & set(evidence_ids)) if about else None,
    }
    if answer is None:
        return row
    row.update(_score(case, answer, evidence_ids))
    return row


def _score(case: dict[str, Any], answer: Any, evidence_ids: list[str]) -> dict[str, Any]:
    """The quality fields of one case's Answer."""
    expected = set(case["expected"])
    about = set(case.get("about", [])) | expected
    row: dict[str, Any] = {
        "id": case["id"],
        "type": case["type"],
        "split": case.get("split", "dev"),
        "question": case["question"],
        "evidence_ids": evidence_ids,
        "expected_in_evidence": bool(about & set(evidence_ids)) if about else None,
    }
    n_evidence = len(answer.evidence)
    cites = [c for c in answer.citations]
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]
    row.update(
        refused=answer.refused,
        extractive=answer.extractive,
        answer=answer.answer,
        citations=[
            {"n": c.n, "paper_id": c.paper_id, "supported": c.supported, "expected": c.paper_id in expected}
            for c in cites
        ],
        in_range=all(1 <= c.n <= n_evidence for c in cites) and all(1 <= n <= n_evidence for n in markers),
        removed=answer.removed_citations,
        sentences=len(answer.sentences),
        supported_sentences=sum(s.supported for s in answer.sentences),
        cites_expected_supported=(not answer.refused)
        and any(c.supported and c.paper_id in expected for c in cites),
    )
    return row


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if r["type"] != "unanswerable"]
    unanswerable = [r for r in rows if r["type"] == "unanswerable"]
    done = [r for r in rows if "refused" in r]
    refused = [r for r in done if r["refused"]]
    answered = [r for r in done if not r["refused"]]
    answer_cites = [c for r in answered for c in r["citations"]]

    def pct(num: int, den: int) -> float | None:
        return round(100 * num / den, 1) if den else None

    def lat(key: str) -> dict[str, float | None]:
        vals = [r[key] for r in done if r.get(key) is not None]
        return {"p50": _r(_pct(vals, 0.5)), "p95": _r(_pct(vals, 0.95)), "max": _r(max(vals) if vals else None), "n": len(vals)}

    by_type = {}
    for t in ("factual", "method"):
        rs = [r for r in answerable if r["type"] == t]
        by_type[t] = pct(sum(bool(r.get("cites_expected_supported")) for r in rs), len(rs))
    ref_unans = sum(1 for r in unanswerable if r.get("refused"))
    splits = sorted({r.get("split", "dev") for r in rows})
    by_split = {}
    if len(splits) > 1:
        for sp in splits:
            rs = [r for r in rows if r.get("split", "dev") == sp]
            ans = [r for r in rs if r["type"] != "unanswerable"]
            una = [r for r in rs if r["type"] == "unanswerable"]
            by_split[sp] = {
                "cases": len(rs),
                "cites_expected_supported": pct(sum(bool(r.get("cites_expected_supported")) for r in ans), len(ans)),
                "refusal_recall": pct(sum(1 for r in una if r.get("refused")), len(una)),
                "false_refusals": pct(sum(1 for r in ans if r.get("refused")), len(ans)),
            }
    return {
        "cases": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "errors": sum(1 for r in rows if r["error"]),
        "cites_expected_supported": pct(sum(bool(r.get("cites_expected_supported")) for r in answerable), len(answerable)),
        "cites_expected_supported_by_type": by_type,
        "expected_in_evidence": pct(sum(bool(r["expected_in_evidence"]) for r in answerable), len(answerable)),
        "citations_in_range": pct(sum(bool(r["in_range"]) for r in done), len(done)),
        "out_of_range_removed": sum(len(r["removed"]) for r in done),
        "citations_supported": pct(sum(c["supported"] for c in answer_cites), len(answer_cites)),
        "answer_citations": len(answer_cites),
        "sentences_supported": pct(sum(r["supported_sentences"] for r in answered), sum(r["sentences"] for r in answered)),
        "refusal_precision": pct(sum(1 for r in refused if r["type"] == "unanswerable"), len(refused)),
        "refusal_recall": pct(ref_unans, len(unanswerable)),
        "false_refusals": pct(sum(1 for r in answerable if r.get("refused")), len(answerable)),
        "model_declined": sum(1 for r in done if "NOT_IN_PAPERS" in r["draft"]),
        "extractive": sum(1 for r in done if r.get("extractive")),
        "refused_without_model": sum(1 for r in done if r.get("refused") and not r["draft"]),
        "by_split": by_split,
        "latency_s": {"evidence": lat("evidence_s"), "first_token": lat("first_token_s"), "full_answer": lat("total_s")},
        "cpu_s": lat("cpu_s"),
        "cpu_first_token_s": lat("cpu_first_token_s"),
        "prompt_chars": lat("prompt_chars"),
    }


def _r(x: float | None, nd: int = 3) -> float | None:
    return None if x is None else round(x, nd)


def make_app(backend: str, data: Path, overrides: dict[str, Any]):  # type: ignore[no-untyped-def]
    """(Assistant, fake server or None)."""
    from assistant.service import Assistant

    fake = None
    if backend == "fake":
        fake = FakeProcess()
        settings = base_settings(
            data, llm_backend="openai", llm_base_url=fake.base_url, llm_model="fake-model", llm_api_key="bench", **overrides
        )
    else:
        settings = base_settings(data, llm_backend="embedded", **overrides)
    return Assistant(settings), fake


class FakeProcess:
    """The fake endpoint in its own process (`--serve-fake`), as a real server would be: its HTTP and
    streaming work then does not run on our interpreter (GIL) and is not counted as our overhead."""

    def __init__(self, command: list[str] | None = None) -> None:
        """`command` runs another server that prints its base URL and serves until stdin closes."""
        self.proc = subprocess.Popen(
            command or [sys.executable, "-m", "benchmarks.qa_bench", "--serve-fake"],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise SystemExit("the fake endpoint did not start")

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # the server exits when its stdin closes
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def serve_fake(responder: Any = lexical_responder) -> None:
    """Run the fake endpoint (answering through `responder`) until stdin closes; print its base URL first."""
    sys.path.insert(0, str(ROOT))
    from tests.fake_openai import FakeOpenAI

    with FakeOpenAI(responder=responder) as fake:
        print(fake.base_url, flush=True)
        sys.stdin.read()


def replay(name: str, data: Path, out_dir: Path, finalize_fn: Any = None) -> dict[str, Any]:
    """Re-check the recorded drafts of entry `name` with the current evidence and checking code.

    No model call: the evidence is retrieved again (deterministic), and `finalize_events` (or `finalize_fn`)
    turns each recorded draft into an Answer (its last event). Latencies are those of the recorded run. For measuring
    changes to the citation check, the refusal rule or the extractive fallback on real model output.
    """
    from assistant.chains.qa import finalize_events
    from assistant.service import Assistant

    entries = json.loads((out_dir / "qa.json").read_text(encoding="utf-8"))["entries"]
    source = entries[name]
    cases = {c["id"]: c for c in load_cases()}
    app = Assistant(base_settings(data))
    fin = finalize_fn or (lambda *args: list(finalize_events(*args))[-1][1])
    rows = []
    try:
        for old in source["rows"]:
            case = cases[old["id"]]
            k = source["settings"].get("top_k")
            evidence = app.evidence_for(case["question"], k)
            rendered = len(evidence.render())
            answer = fin(case["question"], old["draft"], evidence, app.embedder.embed, source["model"])
            row = _score(case, answer, [h.paper.paper_id for h in evidence.hits])
            for key in ("evidence_s", "first_token_s", "total_s", "cpu_s", "cpu_first_token_s", "draft", "load1"):
                row[key] = old.get(key)
            row["prompt_chars"] = rendered
            row["error"] = old.get("error")
            rows.append(row)
    finally:
        app.close()
    entry = {**source, "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rows": rows}
    entry["summary"] = summarize(rows)
    entry["replay_of"] = name
    return entry


def prepare_stored_vectors(
    backend: str, cases: list[dict[str, Any]], data: Path, k: int | None, overrides: dict[str, Any], state: str
) -> None:
    """The store's kept sentence vectors in `state`. Unread: none, so every question's papers are embedded at
    question time. Cold: every paper read as ingest's background reader leaves it. Warm: then the cases run
    once, untimed, in another Assistant, as a later process would find them (questions and drafts are still
    embedded at question time)."""
    from assistant.service import Assistant

    app = Assistant(base_settings(data))
    try:
        app.store.sentence_vectors(app.embedder.vector_space).clear()
        if state != "unread":
            app.read_papers()
    finally:
        app.close()
    if state == "warm":
        app, fake = make_app(backend, data, overrides)
        try:
            for case in cases:
                run_case(app, case, k)
        finally:
            app.close()
            if fake is not None:
                fake.close()


def run_backend(
    backend: str, cases: list[dict[str, Any]], data: Path, k: int | None, overrides: dict[str, Any], state: str = "cold"
) -> dict[str, Any]:
    prepare_stored_vectors(backend, cases, data, k, overrides, state)
    app, fake = make_app(backend, data, overrides)
    load = [os.getloadavg()[0]]
    try:
        t0 = time.perf_counter()
        warm = run_case(app, {"id": "warmup", "type": "factual", "question": WARMUP_QUESTION, "expected": []}, k)
        warmup_s = time.perf_counter() - t0
        if warm["error"]:
            raise SystemExit(f"warm-up failed: {warm['error']}")
        rows = []
        for i, case in enumerate(cases, 1):
            row = run_case(app, case, k)
            row["load1"] = round(os.getloadavg()[0], 2)
            load.append(row["load1"])
            rows.append(row)
            mark = "OK " if row.get("cites_expected_supported") or (case["type"] == "unanswerable" and row.get("refused")) else "-- "
            print(
                f"[{i}/{len(cases)}] {mark}{case['id']} refused={row.get('refused')} "
                f"first={_fmt(row['first_token_s'])} total={_fmt(row['total_s'])} load={row['load1']} "
                f"| {(row.get('answer') or row['error'] or '')[:110]}",
                flush=True,
            )
    finally:
        app.close()
        if fake is not None:
            fake.close()
    summary = summarize(rows)
    if backend == "fake":
        lat = summary["latency_s"]["full_answer"]
        cpu = summary["cpu_s"]
        summary["overhead_ms"] = {
            "p50": _r((lat["p50"] or 0) * 1000, 1),
            "p95": _r((lat["p95"] or 0) * 1000, 1),
            "cpu_p50": _r((cpu["p50"] or 0) * 1000, 1),
            "cpu_p95": _r((cpu["p95"] or 0) * 1000, 1),
        }
    load.append(os.getloadavg()[0])
    return {
        "backend": backend,
        "model": app.model_label,
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "settings": {"top_k": app.settings.top_k, "evidence_sentences": app.settings.evidence_sentences, **overrides},
        "stored_vectors": state,
        "load_avg": {"before": round(load[0], 2), "max": round(max(load), 2), "mean": round(statistics.mean(load), 2), "after": round(load[-1], 2)},
        "warmup_s": round(warmup_s, 2),
        "peak_rss_mb": round(_rss_mb(), 1),
        "summary": summary,
        "rows": rows,
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}s"


# --------------------------------------------------------------------------- report


def _v(x: Any, unit: str = "%") -> str:
    return "n/a" if x is None else f"{x}{unit}"


def render_md(entries: dict[str, dict[str, Any]]) -> str:
    out = ["# Seed QA benchmark", ""]
    out.append(
        "`python -m benchmarks.qa_bench [--backend embedded|fake] [--warm] [--limit N]`: the cases in "
        "`benchmarks/qa_cases.jsonl` through `Assistant.ask_stream` over the five seed pages (310 papers). "
        "Runs start from a store whose papers were read as ingest's background reader does (cold: papers nobody "
        "asked about; their kept sentence vectors only); `unread` runs from a store with none kept (each question's "
        "papers are embedded at question time, as before the reader reaches them); `warm` runs find the cases' "
        "papers asked about by an untimed first pass. "
        "\"cites expected\" = the answer is not a refusal and cites an expected paper with a supported citation. "
        "The machine is shared (2 cores): latencies are only comparable at similar load, recorded per run."
    )
    out.append("")
    names = list(entries)
    head = "| metric | target | " + " | ".join(names) + " |"
    out += [head, "|---|---|" + "---|" * len(names)]

    def row(label: str, target: str, get: Any) -> None:
        vals = []
        for n in names:
            try:
                vals.append(get(entries[n]))
            except (KeyError, TypeError):
                vals.append("n/a")
        out.append(f"| {label} | {target} | " + " | ".join(vals) + " |")

    s = lambda e: e["summary"]  # noqa: E731
    row("model", "", lambda e: f"`{e['model']}`")
    row("when (UTC)", "", lambda e: e["when"])
    row("cases (answerable / unanswerable)", "≥ 40, ≥ 20% unanswerable", lambda e: f"{s(e)['cases']} ({s(e)['answerable']} / {s(e)['unanswerable']})")
    row("settings", "", lambda e: ", ".join(f"{k}={v}" for k, v in e["settings"].items()))
    row("load average 1 min (before / mean / max)", "idle ≈ 0", lambda e: f"{e['load_avg']['before']} / {e['load_avg']['mean']} / {e['load_avg']['max']}")
    row("expected paper retrieved (answerable)", "", lambda e: _v(s(e)["expected_in_evidence"]))
    row("**cites an expected paper, supported** (answerable)", "≥ 85%", lambda e: _v(s(e)["cites_expected_supported"]))
    row("  factual / method", "", lambda e: " / ".join(_v(x) for x in s(e)["cites_expected_supported_by_type"].values()))
    row(
        "  per split: cites expected / refusal recall / false refusals",
        "",
        lambda e: "; ".join(
            f"{sp} {v['cites_expected_supported']}% / {v['refusal_recall']}% / {v['false_refusals']}%"
            for sp, v in s(e).get("by_split", {}).items()
        )
        or "one split",
    )
    row("**citations in range**", "100%", lambda e: _v(s(e)["citations_in_range"]) + f" ({s(e)['out_of_range_removed']} out-of-range removed)")
    row("citations judged supported (answers)", "", lambda e: _v(s(e)["citations_supported"]) + f" of {s(e)['answer_citations']}")
    row("sentences supported (answers)", "", lambda e: _v(s(e)["sentences_supported"]))
    row("**refusal recall** (unanswerable refused)", "≥ 90%", lambda e: _v(s(e)["refusal_recall"]))
    row("refusal precision", "", lambda e: _v(s(e)["refusal_precision"]))
    row("**false refusals** (answerable refused)", "≤ 5%", lambda e: _v(s(e)["false_refusals"]))
    row("model replied NOT_IN_PAPERS", "", lambda e: str(s(e)["model_declined"]))
    row(
        "answers quoted from the abstract / refused without the model",
        "",
        lambda e: f"{s(e).get('extractive', 'n/a')} / {s(e).get('refused_without_model', 'n/a')}",
    )
    for key, label, target in (
        ("evidence", "evidence shown p50 / p95", "≤ 1 s"),
        ("first_token", "first token p50 / p95", "≤ 8 s"),
        ("full_answer", "full answer p50 / p95 (max)", "≤ 30 s"),
    ):
        row(label, target, lambda e, key=key: f"{_v(s(e)['latency_s'][key]['p50'], ' s')} / {_v(s(e)['latency_s'][key]['p95'], ' s')}" + (f" ({s(e)['latency_s'][key]['max']} s)" if key == "full_answer" else ""))
    row("our overhead per question p50 / p95 (fake): wall; CPU", "≤ 150 ms", lambda e: f"{e['summary']['overhead_ms']['p50']} / {e['summary']['overhead_ms']['p95']} ms; CPU {e['summary']['overhead_ms']['cpu_p50']} / {e['summary']['overhead_ms']['cpu_p95']} ms" if "overhead_ms" in e["summary"] else "n/a")
    row("process CPU per question p50 / p95", "", lambda e: f"{s(e)['cpu_s']['p50']} / {s(e)['cpu_s']['p95']} s")
    row("process CPU to first token p50 / p95", "", lambda e: f"{s(e)['cpu_first_token_s']['p50']} / {s(e)['cpu_first_token_s']['p95']} s")
    row("evidence characters in the prompt p50 / p95", "", lambda e: f"{s(e)['prompt_chars']['p50']} / {s(e)['prompt_chars']['p95']}")
    row("warm-up (model start + 1 question)", "", lambda e: f"{e['warmup_s']} s")
    row("peak RSS (process, incl. in-process model server)", "≤ 3 GB", lambda e: f"{e['peak_rss_mb']} MB")
    row("errors", "0", lambda e: str(s(e)["errors"]))
    out.append("")
    for name, e in entries.items():
        out += [f"## Per case: {name}", "", "`OK` = answerable and cites an expected paper with support, or unanswerable and refused. Times: evidence / first token / full answer (s); `ret` = expected paper among the evidence.", ""]
        for r in e["rows"]:
            ok = r.get("cites_expected_supported") or (r["type"] == "unanswerable" and r.get("refused"))
            cites = " ".join(
                f"[{c['n']}]{'+' if c['supported'] else '-'}{'*' if c['expected'] else ''}" for c in r.get("citations", [])
            )
            text = (r.get("answer") or r.get("error") or "").replace("\n", " ").replace("|", "/")
            if len(text) > 220:
                text = text[:219] + "…"
            out.append(
                f"- `{r['id']}` {'OK' if ok else '--'} {r['type']}, {'refused' if r.get('refused') else 'answered'}, "
                f"ret={r['expected_in_evidence']}, {_fmt(r['evidence_s'])} / {_fmt(r['first_token_s'])} / {_fmt(r['total_s'])}, "
                f"cites {cites or '-'} (+ supported, * expected) — {r['question']} → {text}"
            )
        out.append("")
    return "\n".join(out) + "\n"


def write_results(entry: dict[str, Any], name: str, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "qa.json"
    entries: dict[str, Any] = {}
    if path.exists():
        try:
            entries = json.loads(path.read_text(encoding="utf-8")).get("entries", {})
        except (ValueError, AttributeError):
            entries = {}
    entries[name] = entry
    order = sorted(entries, key=lambda n: (not n.startswith("embedded"), n))
    entries = {n: entries[n] for n in order}
    path.write_text(json.dumps({"targets": TARGETS, "entries": entries}, indent=1, ensure_ascii=False), encoding="utf-8")
    (out_dir / "qa.md").write_text(render_md(entries), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "fake"], action="append", help="repeatable; default embedded")
    parser.add_argument("--limit", type=int, help="only the first N cases (in file order, types interleaved)")
    parser.add_argument("--ids", help="comma-separated case ids to run")
    parser.add_argument("--split", choices=["dev", "holdout"], help="only the cases of one split (default: all)")
    parser.add_argument("--k", type=int, help="papers per question (default ASSISTANT_TOP_K = settings)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="data dir of the seed store (reused)")
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--replay", metavar="ENTRY", help="re-check the drafts recorded in qa.json entry ENTRY (no model)")
    parser.add_argument("--tag", default="", help="name suffix of this run in qa.json/qa.md (experiments)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results directory")
    parser.add_argument("--evidence-sentences", type=int, help="override ASSISTANT_EVIDENCE_SENTENCES")
    parser.add_argument("--top-k", type=int, help="override ASSISTANT_TOP_K")
    parser.add_argument("--max-tokens", type=int, help="override ASSISTANT_LLM_MAX_TOKENS")
    parser.add_argument(
        "--threads", type=int, help="override ASSISTANT_LLM_THREADS (1 is far faster than 2 on a loaded 2-core machine)"
    )
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--warm", action="store_true",
        help="time the cases on a store that was asked them before (one untimed pass first); default: cold (papers read after ingest)",
    )
    state.add_argument(
        "--unread", action="store_true",
        help="time the cases on a store with no kept sentence vectors (before the reader after ingest reaches the papers)",
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake:
        serve_fake()
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    cases = load_cases(args.cases)
    if args.split:
        cases = [c for c in cases if c.get("split", "dev") == args.split]
    if args.ids:
        wanted = set(args.ids.split(","))
        cases = [c for c in cases if c["id"] in wanted]
    elif args.limit:
        cases = interleave(cases)[: args.limit]
    overrides: dict[str, Any] = {}
    if args.evidence_sentences:
        overrides["evidence_sentences"] = args.evidence_sentences
    if args.top_k:
        overrides["top_k"] = args.top_k
    if args.threads is not None:
        overrides["llm_threads"] = args.threads
    if args.max_tokens:
        overrides["llm_max_tokens"] = args.max_tokens
    store = ensure_store(args.data)
    if args.replay:
        entry = replay(args.replay, args.data, args.out)
        name = f"{args.replay} replay" + (f" {args.tag}" if args.tag else "")
        write_results(entry, name, args.out)
        print(json.dumps({"entry": name, **entry["summary"]}, indent=1))
        return 0
    print(f"store: {store}; {len(cases)} cases; load average {os.getloadavg()}", flush=True)
    for backend in args.backend or ["embedded"]:
        state = "warm" if args.warm else "unread" if args.unread else "cold"
        entry = run_backend(backend, cases, args.data, args.k, overrides, state)
        subset = f" ({args.split}, {len(cases)} cases)" if args.split and not (args.ids or args.limit) else ""
        if args.ids or args.limit:
            subset = f" (subset of {len(cases)})"
        name = backend + ("" if state == "cold" else f" {state}") + (f" {args.tag}" if args.tag else "") + subset
        write_results(entry, name, args.out)
        print(json.dumps({"entry": name, "load_avg": entry["load_avg"], "peak_rss_mb": entry["peak_rss_mb"], **entry["summary"]}, indent=1))
    return 0


def interleave(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Round-robin over the types, so `--limit 8` samples factual, method and unanswerable cases."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for c in cases:
        groups.setdefault(c["type"], []).append(c)
    out: list[dict[str, Any]] = []
    while any(groups.values()):
        for t in ("factual", "method", "unanswerable"):
            if groups.get(t):
                out.append(groups[t].pop(0))
    return out


if __name__ == "__main__":
    sys.exit(main())
