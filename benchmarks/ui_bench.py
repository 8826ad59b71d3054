"""UI benchmark (issue #7 targets): start-up, time to evidence, and 8 concurrent browser sessions.

Run from the repo root: `python -m benchmarks.ui_bench [--sessions 8] [--rounds 4] [--starts 3]`;
writes benchmarks/results/ui.md and ui.json. Needs Debian's chromium + chromium-driver
(`apt-get install -y chromium chromium-driver`) and selenium (the `dev` extra).

What it does, all on 127.0.0.1:
  * the five seed pages are ingested once into .cache/ui-bench-seed (git-ignored); every server
    start gets a fresh copy of it as ASSISTANT_DATA_DIR;
  * the model is the fast fake OpenAI-compatible server of tests/fake_openai.py, reached through
    the product's `openai` back end (ASSISTANT_LLM_BACKEND=openai, BASE_URL = the fake); it answers
    at once with the evidence sentence sharing most words with the question, cited (the `fake`
    back end of benchmarks/qa_bench.py), or a refusal;
  * start-up: `assistant ui` (Streamlit, headless), a browser already open; time from process start
    to the chat input and the status sidebar (paper count) visible in the page, `--starts` times;
  * warm evidence: one session asks `--warm` questions one at a time (after a warm-up question);
    time from pressing Enter to the "Retrieved papers" expander, and to the finished answer;
  * concurrency: `--sessions` headless Chromium instances (one Streamlit session each) ask a
    different question at the same instant (a barrier), `--rounds` times; per session and round:
    time to evidence, time to the finished answer, errors; the server's RSS (VmRSS of the
    `assistant ui` process) after the pages loaded and after every round.
A question counts as answered when the run finished (the "Clear conversation" button is drawn after
the answer) with an answer or a refusal in the assistant message, and no st.error / traceback.

Longer than a library module on purpose: one benchmark is one self-contained run (server
starts, browser sessions, timing, report) read top to bottom; shared pieces are in
`results_io.py`, `seed_store.py` and tests/app_server.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from app_server import AppServer  # noqa: E402  (tests/app_server.py: the app as `assistant ui` starts it)
from benchmarks.results_io import rerender  # noqa: E402
from benchmarks.seed_store import ensure_seed_store  # noqa: E402

SEED_CACHE = ROOT / ".cache" / "ui-bench-seed"
RESULTS = ROOT / "benchmarks" / "results"
OUT_MD, OUT_JSON = RESULTS / "ui.md", RESULTS / "ui.json"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
TARGETS = {"interactive_s": 3.0, "evidence_warm_s": 1.5}


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = (len(s) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return round(s[lo] + (s[hi] - s[lo]) * (k - lo), 2)


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "max": round(max(values), 2)}


def questions() -> list[str]:
    rows = [json.loads(line) for line in (ROOT / "benchmarks" / "seed_questions.jsonl").read_text().splitlines() if line.strip()]
    return [str(r["question"]) for r in rows]


def seed_store() -> Path:
    """The seed pages ingested once (real embedder); reused by every run."""
    from assistant.config import Settings

    ensure_seed_store(Settings(_env_file=None, data_dir=SEED_CACHE), 2025, progress=False)  # type: ignore[call-arg]
    return SEED_CACHE


# --------------------------------------------------------------------------- server
def start_app(work: Path, llm_url: str) -> AppServer:
    """`assistant ui` (the README's way) over a copy of the seed store, model = the fake endpoint."""
    data = work / "data"
    shutil.copytree(seed_store(), data)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {
        "ASSISTANT_DATA_DIR": str(data),
        "ASSISTANT_LLM_BACKEND": "openai",
        "ASSISTANT_LLM_BASE_URL": llm_url,
        "ASSISTANT_LLM_MODEL": "fake-model",
        "ASSISTANT_LLM_API_KEY": "bench-key",
        "TOKENIZERS_PARALLELISM": "false",
    }
    return AppServer(work, env)


# --------------------------------------------------------------------------- browser
def browser(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--window-size=1200,1400", f"--user-data-dir={profile}",
        # background tabs/windows must not be throttled: all sessions are "in front"
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows",
    ):  # fmt: skip
        opts.add_argument(arg)
    return webdriver.Chrome(options=opts, service=Service(str(CHROMEDRIVER)))


def css(d: Any, sel: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return d.find_elements(By.CSS_SELECTOR, sel)


def wait_for(d: Any, find: Any, timeout: float, what: str) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(d, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]).until(find)
    except TimeoutException:
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}") from None


def visible(sel: str) -> Any:
    return lambda d: next((e for e in css(d, sel) if e.is_displayed()), None)


def with_text(sel: str, text: str) -> Any:
    return lambda d: next((e for e in css(d, sel) if text in e.text), None)


def open_app(d: Any, url: str, timeout: float = 120) -> None:
    if not d.current_url.startswith(url):
        d.get(url)
    wait_for(d, visible('[data-testid="stChatInputTextArea"]'), timeout, "the chat input")
    wait_for(d, with_text('[data-testid="stSidebar"]', "papers"), timeout, "the status sidebar")


def errors_on_page(d: Any) -> list[str]:
    found = css(d, '[data-testid="stException"], [data-testid="stAlertContentError"]')
    return [e.text[:200] for e in found]


def ask_and_time(d: Any, question: str, start: threading.Barrier | None = None, timeout: float = 240) -> dict[str, Any]:
    """Ask in the chat box; seconds to the evidence expander and to the finished answer."""
    from selenium.webdriver.common.keys import Keys

    box = wait_for(d, visible('[data-testid="stChatInputTextArea"]'), 60, "the chat input")
    box.send_keys(question)
    if start is not None:
        start.wait()
    t0 = time.perf_counter()
    box.send_keys(Keys.ENTER)
    out: dict[str, Any] = {"question": question}
    try:
        wait_for(d, with_text('[data-testid="stChatMessage"] [data-testid="stExpander"]', "Retrieved papers"), timeout, "the evidence")
        out["evidence_s"] = round(time.perf_counter() - t0, 3)
        wait_for(d, with_text("button", "Clear conversation"), timeout, "the end of the run (Clear button)")
        out["answer_s"] = round(time.perf_counter() - t0, 3)
        msgs = css(d, '[data-testid="stChatMessage"]')
        last = msgs[-1] if msgs else None
        links = [a.text for a in css(last, "a")] if last is not None else []
        out["refused"] = bool(last is not None and css(last, '[data-testid="stAlertContentInfo"]'))
        out["cited"] = not out["refused"] and any(t.startswith("[") and t.endswith("]") for t in links)
        out["errors"] = errors_on_page(d)
        out["answered"] = (out["cited"] or out["refused"]) and not out["errors"]
    except Exception as exc:  # noqa: BLE001 - a benchmark records failures, it does not stop
        out["errors"] = [*out.get("errors", []), f"{type(exc).__name__}: {exc}", *errors_on_page(d)]
        out["answered"] = False
    return out


def clear(d: Any) -> None:
    wait_for(d, with_text("button", "Clear conversation"), 60, "the clear button").click()
    wait_for(d, lambda x: not css(x, '[data-testid="stChatMessage"]'), 60, "an empty conversation")


# --------------------------------------------------------------------------- scenarios
def startup_trials(work: Path, llm_url: str, n: int) -> list[dict[str, float]]:
    d = browser(work / "profile-start")
    trials = []
    try:
        for i in range(n):
            srv = start_app(work / f"start-{i}", llm_url)
            try:
                healthy = srv.wait_healthy()
                d.get(srv.url)
                # first paint: the page skeleton (navigation, spinner "Opening the paper store…" or any element)
                wait_for(d, lambda x: css(x, '[data-testid="stSidebarNav"], [data-testid="stSpinner"], [data-testid="stMarkdownContainer"]'), 120, "first paint")
                painted = time.perf_counter() - srv.started
                open_app(d, srv.url)
                trials.append({
                    "healthy_s": round(healthy, 2), "first_paint_s": round(painted, 2),
                    "interactive_s": round(time.perf_counter() - srv.started, 2),
                })
            finally:
                srv.stop()
            d.get("about:blank")
    finally:
        d.quit()
    return trials


PARTS_SCRIPT = r"""
import json, os, shutil, sys, tempfile, time
out = {}
def lap(name, t):
    out[name] = round(time.perf_counter() - t, 2)
t0 = t = time.perf_counter(); import streamlit; lap("import streamlit", t)
sys.path.insert(0, sys.argv[2])
t = time.perf_counter(); import uikit; lap("import the UI kit (assistant, Settings)", t)
d = tempfile.mkdtemp(); shutil.rmtree(d); shutil.copytree(sys.argv[1], d)
os.environ["ASSISTANT_DATA_DIR"] = d
t = time.perf_counter(); r = uikit._new_runtime(); r.assistant.stats(vectors=False); r.assistant.model_label
lap("runtime + paper-table stats + model label (what the sidebar waits for)", t)
lap("total before the first page can be drawn", t0)
t = time.perf_counter(); r.assistant.store.chunk_total(); lap("then, in the background: open Chroma", t)
shutil.rmtree(d)
print(json.dumps(out))
"""


def startup_parts() -> dict[str, float]:
    """The server-side Python work before the chat input can be drawn, timed in a fresh process (same data)."""
    proc = subprocess.run(
        [sys.executable, "-c", PARTS_SCRIPT, str(seed_store()), str(ROOT / "ui")],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_startup_only(args: argparse.Namespace) -> dict[str, Any]:
    """Re-measure only the start-up (trials + parts) and merge it into the last ui.json."""
    sys.path.insert(0, str(ROOT / "tests"))
    from fake_openai import FakeOpenAI

    res = json.loads(OUT_JSON.read_text())
    work = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    fake = FakeOpenAI().start()
    try:
        seed_store()
        load = load_avg()
        res["startup"] = startup_trials(work, fake.base_url, args.starts)
        res["startup_parts"] = startup_parts()
        res["startup_run"] = {"when": time.strftime("%Y-%m-%d %H:%M"), "load_avg_start": load, "load_avg_end": load_avg()}
    finally:
        fake.close()
        shutil.rmtree(work, ignore_errors=True)
    return res


def run(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    from benchmarks.qa_bench import lexical_responder
    from fake_openai import FakeOpenAI

    seed_store()
    qs = questions()
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
        "load_avg_start": load_avg(),
        "sessions": args.sessions,
        "rounds": args.rounds,
    }
    work = Path(tempfile.mkdtemp(prefix="ui-bench-"))
    fake = FakeOpenAI(responder=lexical_responder).start()
    drivers: list[Any] = []
    srv: Server | None = None
    try:
        # 1. start-up
        result["startup"] = startup_trials(work, fake.base_url, args.starts)
        result["startup_parts"] = startup_parts()
        print(f"start-up: {result['startup']}", file=sys.stderr)

        # 2. the concurrency server; browsers launched first (not timed)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            drivers = list(pool.map(lambda i: browser(work / f"profile-{i}"), range(args.sessions)))
        result["browsers_launch_s"] = round(time.perf_counter() - t0, 1)
        srv = start_app(work / "server", fake.base_url)
        srv.wait_healthy()
        rss: list[dict[str, Any]] = [{"after": "server healthy", "mb": srv.rss_mb}]

        # 3. warm time to evidence, one session
        open_app(drivers[0], srv.url)
        warm_q = [q for q in qs if len(q.split()) > 3]
        first = ask_and_time(drivers[0], warm_q[0])  # warm-up: chains imported, model client made
        clear(drivers[0])
        warm = []
        for q in warm_q[1 : 1 + args.warm]:
            warm.append(ask_and_time(drivers[0], q))
            clear(drivers[0])
        result["first_question"] = first
        result["warm_single"] = warm
        rss.append({"after": "single-session questions", "mb": srv.rss_mb})
        print(f"warm evidence: {[w.get('evidence_s') for w in warm]}", file=sys.stderr)

        # 4. all sessions open the page at once
        def load(i: int) -> float:
            t = time.perf_counter()
            open_app(drivers[i], srv.url)  # type: ignore[union-attr]
            return round(time.perf_counter() - t, 2)

        with ThreadPoolExecutor(args.sessions) as pool:
            result["page_load_concurrent_s"] = list(pool.map(load, range(args.sessions)))
        rss.append({"after": f"{args.sessions} sessions loaded", "mb": srv.rss_mb})

        # 5. rounds of simultaneous questions
        rounds: list[list[dict[str, Any]]] = []
        for r in range(args.rounds):
            barrier = threading.Barrier(args.sessions)

            def one(i: int, r: int = r, barrier: threading.Barrier = barrier) -> dict[str, Any]:
                q = qs[(r * args.sessions + i) % len(qs)]
                res = ask_and_time(drivers[i], q, start=barrier)
                res["session"] = i
                try:
                    clear(drivers[i])
                except Exception as exc:  # noqa: BLE001
                    res.setdefault("errors", []).append(f"clear: {exc}")
                return res

            t = time.perf_counter()
            with ThreadPoolExecutor(args.sessions) as pool:
                rows = list(pool.map(one, range(args.sessions)))
            rounds.append(rows)
            rss.append({"after": f"round {r + 1}", "mb": srv.rss_mb, "round_s": round(time.perf_counter() - t, 2), "load1": load_avg()[0]})
            print(
                f"round {r + 1}: evidence {[x.get('evidence_s') for x in rows]} answer {[x.get('answer_s') for x in rows]} "
                f"rss {rss[-1]['mb']} MB",
                file=sys.stderr,
            )
        result["rounds_detail"] = rounds
        result["rss"] = rss
        result["server_alive"] = srv.proc.poll() is None
        log_text = Path(srv.log.name).read_text(errors="replace")
        result["server_log_tracebacks"] = log_text.count("Traceback")
    finally:
        for d in drivers:
            try:
                d.quit()
            except Exception:  # noqa: BLE001
                pass
        if srv is not None:
            srv.stop()
        fake.close()
        shutil.rmtree(work, ignore_errors=True)
    result["load_avg_end"] = load_avg()
    return result


# --------------------------------------------------------------------------- report
def render(res: dict[str, Any]) -> str:
    start = res["startup"]
    inter = [t["interactive_s"] for t in start]
    warm = res["warm_single"]
    ev_warm = [w["evidence_s"] for w in warm if "evidence_s" in w]
    rows = [x for rnd in res["rounds_detail"] for x in rnd]
    answered = sum(1 for x in rows if x.get("answered"))
    ev_c = [x["evidence_s"] for x in rows if "evidence_s" in x]
    an_c = [x["answer_s"] for x in rows if "answer_s" in x]
    errors = [e for x in rows for e in x.get("errors", [])]
    rss = res["rss"]
    per_round = [x["mb"] for x in rss if x["after"].startswith("round ")]
    after_r1, last = per_round[0], per_round[-1]
    growth = last - after_r1
    half = len(per_round) // 2
    mid = per_round[half - 1] if half else after_r1
    late_growth = last - mid  # second half of the rounds: warm-up allocations are done by then
    slope = (per_round[-1] - per_round[half - 1]) / max(len(per_round) - half, 1) if half else 0.0
    flat = abs(late_growth) <= max(25.0, 0.05 * mid)
    n = res["sessions"]
    lines = [
        "# UI benchmark",
        "",
        f"`python -m benchmarks.ui_bench --sessions {n} --rounds {res['rounds']}` on {res['when']} ({res['machine']}); "
        f"load average {res['load_avg_start'][0]} at the start, {res['load_avg_end'][0]} at the end (other jobs share "
        "the 2 cores). Real `assistant ui` (Streamlit headless on 127.0.0.1, store prewarmed while the browser loads), seed pages ingested (310 papers), model = "
        "the fast fake OpenAI-compatible endpoint (tests/fake_openai.py) through `ASSISTANT_LLM_BACKEND=openai`; "
        "sessions are real headless Chromium instances driven by Selenium.",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        f"| app interactive <= 3 s after server start | {statistics.median(inter):.2f} s median, {max(inter):.2f} s max over "
        f"{len(inter)} starts (process start -> chat input + sidebar counts drawn) | {'yes' if max(inter) <= 3 else ('median only' if statistics.median(inter) <= 3 else 'no')} |",
        f"| evidence visible <= 1.5 s after asking (warm) | p50 {pct(ev_warm, 50)} s, p95 {pct(ev_warm, 95)} s, max {max(ev_warm):.2f} s "
        f"over {len(ev_warm)} questions, one session | {'yes' if pct(ev_warm, 95) <= 1.5 else 'no'} |",
        f"| {n} concurrent sessions asking at once: all answered, no crash | {answered}/{len(rows)} answered over "
        f"{res['rounds']} rounds, {len(errors)} errors, server alive: {res['server_alive']}, tracebacks in the server log: "
        f"{res['server_log_tracebacks']} | {'yes' if answered == len(rows) and not errors and res['server_alive'] else 'no'} |",
        f"| memory stays flat (one model, one store) | server RSS {after_r1:.0f} MB after round 1 -> {mid:.0f} MB after "
        f"round {half} -> {last:.0f} MB after round {res['rounds']} ({growth:+.0f} MB in all, {late_growth:+.0f} MB over the "
        f"second half = {slope:+.1f} MB per round of {n} questions) | {'yes' if flat else 'no'} (flat = second half within "
        "max(25 MB, 5%)) |",
        "",
        "## Details",
        "",
        "| measure | p50 | p95 | max |",
        "|---|---|---|---|",
    ]
    for name, vals in (
        ("start-up: server healthy (s)", [t["healthy_s"] for t in start]),
        ("start-up: first paint in the browser (s)", [t["first_paint_s"] for t in start if "first_paint_s" in t]),
        ("start-up: app interactive in the browser (s)", inter),
        ("single session, warm: ask -> evidence (s)", ev_warm),
        ("single session, warm: ask -> checked answer (s)", [w["answer_s"] for w in warm if "answer_s" in w]),
        (f"{n} sessions load the page at once (s)", res["page_load_concurrent_s"]),
        (f"{n} sessions ask at once: ask -> evidence (s)", ev_c),
        (f"{n} sessions ask at once: ask -> checked answer (s)", an_c),
    ):
        s = summary(vals)
        if s:
            lines.append(f"| {name} | {s['p50']} | {s['p95']} | {s['max']} |")
    parts = res.get("startup_parts")
    sr = res.get("startup_run")
    if sr:
        lines += ["", f"Start-up rows re-measured separately (`--startup-only`) on {sr['when']}, load average {sr['load_avg_start'][0]} -> {sr['load_avg_end'][0]}."]
    if parts:
        lines += [
            "",
            "Server-side Python work of `assistant ui`'s prewarm thread (it runs while the browser loads the page), "
            "timed in a fresh process on the same data (s): " + ", ".join(f"{k} {v}" for k, v in parts.items())
            + ". The rest of the time to interactive is the Streamlit server start, the browser loading and running "
            "the Streamlit front end, and the first script run's round trips, all competing for the 2 cores.",
        ]
    fq = res["first_question"]
    lines += [
        "",
        f"First question after start (imports the answer chain, creates the model client): evidence "
        f"{fq.get('evidence_s')} s, answer {fq.get('answer_s')} s. Launching the {n} browsers (not timed above): "
        f"{res['browsers_launch_s']} s. Answers: {sum(1 for x in rows if x.get('cited'))} cited, "
        f"{sum(1 for x in rows if x.get('refused'))} refusals (the fake answers with the best-matching evidence "
        "sentence or refuses, like a real model would).",
        "",
        "Server RSS (VmRSS of the `assistant ui` process):",
        "",
        "| after | RSS MB | round wall s | load avg (1 min) |",
        "|---|---|---|---|",
    ]
    for x in rss:
        lines.append(f"| {x['after']} | {x['mb']} | {x.get('round_s', '')} | {x.get('load1', '')} |")
    lines += ["", "Per round (seconds to evidence / to the checked answer, per session):", ""]
    for r, rnd in enumerate(res["rounds_detail"], 1):
        cells = ", ".join(f"{x.get('evidence_s', '—')}/{x.get('answer_s', '—')}" for x in sorted(rnd, key=lambda x: x["session"]))
        lines.append(f"- round {r}: {cells}")
    if errors:
        lines += ["", "Errors:", "", *[f"- {e}" for e in errors[:20]]]
    lines += [
        "",
        f"Method notes: the {n} browsers run on the same {os.cpu_count()} cores as the server, so concurrent latencies include the "
        "browsers' own rendering work; the questions are the seed questions (benchmarks/seed_questions.jsonl), a "
        "different one per session and round, typed before the barrier and sent with Enter at the same instant; "
        "each session clears its conversation after each answer (so no follow-up rewrite call). The start-up time "
        "is measured with a browser already open, polling from process start; first paint = the page skeleton "
        "(navigation or the \"Opening the paper store…\" spinner), interactive = chat input and sidebar counts drawn "
        "(the shared store and embedder are open; the chat model is still not started: it starts at the first question).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--starts", type=int, default=3, help="server starts for the start-up time")
    ap.add_argument("--warm", type=int, default=10, help="warm single-session questions")
    ap.add_argument("--render-only", action="store_true")
    ap.add_argument("--startup-only", action="store_true", help="re-measure only the start-up and merge it into ui.json")
    args = ap.parse_args()
    if args.render_only:
        print(rerender("ui", render))
        return
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        print(f"skipped: needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install -y chromium chromium-driver)")
        return
    res = run_startup_only(args) if args.startup_only else run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    OUT_JSON.write_text(json.dumps(res, indent=2))
    OUT_MD.write_text(render(res))
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
