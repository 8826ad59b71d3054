"""Topic summaries on weeks nobody tuned on: supported, citing several papers, no quotes, no ⚠.

Usage: `python -m benchmarks.topic_summary_bench [--backend fake|embedded|both] [--weeks W ...]`;
writes benchmarks/results/topic_summaries.md (+ .json) and, for the hand check, the summaries
themselves to benchmarks/results/topic_summaries_sample.md. Weeks: frozen test weeks of
`topics_split.json` (HF Daily Papers, read in place from ../shared/data) and the seed pages' week
2024-W23 (examples/daily-papers, the week issue #16 was filed on). Each week is ingested into its
own temporary store, then digested cold with the fast fake OpenAI-compatible endpoint
(tests/fake_openai.py) and/or the packaged local model.

What it counts, over the topics' summary sentences as a reader sees them:
- supported: every cited paper states the part of the sentence that cites it, re-checked here
  with `grounding.check_claim` (a shared sentence or a named theme in phrase mode, a clause in
  own-work mode);
- cites >= 3 distinct papers, in topics that have >= 3 papers;
- first-person quotes ("we", "our"), "these papers" on fewer than two citations, ⚠ in md/html;
- how often the model's shared sentence was kept, how often papers are set against each other
  ("whereas") and the two sides named, and what was dropped and why.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from assistant.chains.digest_types import Digest  # noqa: E402
from assistant.citations import parse_citations  # noqa: E402
from assistant.export import render  # noqa: E402
from assistant.chains.grounding import check_claim  # noqa: E402
from assistant.periods import resolve_period  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.store import Store  # noqa: E402
from benchmarks.digest_bench import load_papers, settings_for  # noqa: E402
from benchmarks.results_io import load_average, write_result  # noqa: E402

HF_WEEKS = ("2025-W27", "2025-W38", "2026-W10", "2026-W33")  # frozen test weeks of topics_split.json
SEED_WEEK = "2024-W23"
SEEDS = ROOT / "examples" / "daily-papers"
_MARKS = re.compile(r"(?:\s*\[\d+\])+")


def build_week(week: str, root: Path) -> Path:
    """A fresh store holding the week's papers (HF data, or the seed pages for the seed week)."""
    data = root / week
    app = Assistant(settings_for(data))
    if week == SEED_WEEK:
        app.ingest(sorted(SEEDS.glob("*.txt")), year=2024, progress=False)
    else:
        period = resolve_period(app.store, week=week)
        app.ingest_papers(load_papers(period.since, period.until), progress=False)
    app.close()
    return data


def _parts(text: str) -> list[tuple[str, list[int]]]:
    """A sentence's cited parts: the text before each run of markers, with the numbers of that run."""
    out, start = [], 0
    for m in _MARKS.finditer(text):
        out.append((text[start : m.start()].strip(" ;,."), parse_citations(m.group())))
        start = m.end()
    return out


_TERM_PART = re.compile(r"^(?:\w+ papers here work on|some work on|others on) (.+?)(?:, among them)?$")


def _claim(part: str) -> tuple[str, bool]:
    """(what a part says of each paper it cites, whether it names a theme rather than what the paper
    does): without the sentence's lead ("Where they differ:", "For instance,") or joining word ("and",
    "whereas"), a theme without its wording ("Five papers here work on X", "others on X" say "X")."""
    part = re.sub(r"^(?:Where they differ: |Also: |For instance, )", "", part)
    part = re.sub(r"^(?:and|whereas) ", "", part)
    m = _TERM_PART.match(part)
    return (m.group(1), True) if m else (part, False)


def recheck(d: Digest, store: Store, embed) -> list[dict[str, object]]:  # noqa: ANN001 - embed(texts) -> rows
    """Every summary sentence re-checked part by part against the papers it cites."""
    rows = []
    for topic in (t for t in d.topics if not t.other):
        by_n = {p.n: p for p in topic.papers}
        papers = store.get_papers([p.paper_id for p in topic.papers])
        for i, s in enumerate(topic.sentences):
            parts = _parts(s.text)
            shared = i == 0 and not s.text.startswith("Where")
            claims = [(*_claim(body), ns) for body, ns in parts]
            ok = bool(parts) and all(
                check_claim(claim, papers[by_n[n].paper_id], embed, phrase=shared or theme).supported
                for claim, theme, ns in claims for n in ns
            )
            rows.append({
                "topic": topic.title, "papers_in_topic": len(topic.papers), "text": s.text, "cites": len(set(s.cites)),
                "supported": ok, "first_person": bool(re.search(r"\b(?:we|our)\b", s.text, re.I)),
                "plural_on_one": "these papers" in s.text.lower() and len(set(s.cites)) < 2,
                "contrast": "some work on" in s.text and ", others on " in s.text,
                "whereas": ", whereas " in s.text,
            })
    return rows


def run_week(data: Path, week: str, backend: str) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="summary-bench-")) / "data"
    shutil.copytree(data, work)  # cold: no cached model output
    if backend == "fake":
        from digest_fakes import respond_messages
        from fake_openai import FakeOpenAI

        fake = FakeOpenAI(responder=respond_messages).start()
        settings = settings_for(work, llm_backend="openai", llm_base_url=fake.base_url, llm_model="fake-model",
                                llm_api_key="bench-key")
    else:
        fake = None
        settings = settings_for(work, llm_timeout=900.0)
    app = Assistant(settings)
    try:
        if backend == "embedded":
            app.chat_model.invoke("Say OK")  # start the local server outside the measured digest
        started = time.perf_counter()
        d = app.digest(week=week, extract="quick")
        elapsed = time.perf_counter() - started
        rows = recheck(d, app.store, app.embed_sentences)
        shown = render(d, "md") + render(d, "html").split("<footer>")[0]
        real = [t for t in d.topics if not t.other]
        return {
            "week": week, "backend": backend, "papers": d.n_papers, "topics": len(real), "seconds": round(elapsed, 1),
            "model_calls": d.model_calls, "sentences": rows,
            "model_shared_kept": sum(not t.fallback for t in real),
            "with_shared": sum(bool(t.sentences) and not t.sentences[0].text.startswith("Where") for t in real),
            "dropped": [{"topic": t.title, **x.model_dump()} for t in real for x in t.dropped],
            "warning_marks": shown.count("\u26a0"),
            "summaries": [{"title": t.title, "papers": len(t.papers), "summary": t.summary, "fallback": t.fallback} for t in real],
        }
    finally:
        app.close()
        if fake is not None:
            fake.close()
        shutil.rmtree(work.parent, ignore_errors=True)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a"


def table(runs: list[dict[str, object]], backend: str) -> list[str]:
    mine = [r for r in runs if r["backend"] == backend]
    if not mine:
        return []
    rows = [s for r in mine for s in r["sentences"]]  # type: ignore[union-attr]
    big = [s for s in rows if s["papers_in_topic"] >= 3]
    topics = sum(int(r["topics"]) for r in mine)  # type: ignore[call-overload]
    reasons = Counter(re.sub(r"\d+", "N", d["reason"].split(":")[0]) for r in mine for d in r["dropped"])  # type: ignore[union-attr]
    words = [len(re.sub(r"\[\d+\]", "", t["summary"]).split()) for r in mine for t in r["summaries"]]  # type: ignore[union-attr]
    lines = [
        f"### {backend}", "",
        "| measure | value | target |", "|---|---|---|",
        f"| weeks / papers / topics | {len(mine)} / {sum(int(r['papers']) for r in mine)} / {topics} | |",  # type: ignore[call-overload]
        f"| summary sentences supported (re-checked part by part) | {_pct(sum(s['supported'] for s in rows), len(rows))} | ≥ 95% |",
        f"| sentences citing ≥ 3 papers (topics with ≥ 3 papers) | {_pct(sum(s['cites'] >= 3 for s in big), len(big))} | all |",
        f"| first-person quotes shown | {sum(s['first_person'] for s in rows)} | 0 |",
        f"| \"these papers\" on one paper | {sum(s['plural_on_one'] for s in rows)} | 0 |",
        f"| ⚠ marks in md/html summaries | {sum(int(r['warning_marks']) for r in mine)} | 0 |",  # type: ignore[call-overload]
        f"| topics whose shared sentence is the model's (else the app's) | {_pct(sum(int(r['model_shared_kept']) for r in mine), topics)} | |",  # type: ignore[call-overload]
        f"| topics with a shared sentence (the model's or the app's) | {_pct(sum(int(r['with_shared']) for r in mine), topics)} | |",  # type: ignore[call-overload]
        f"| topics whose papers are set against each other (\"X does A [i], whereas Y does B [j]\") | {_pct(sum(s['whereas'] for s in rows), topics)} | |",
        f"| topics with two sides named (\"some work on A [..], others on B [..]\") | {_pct(sum(s['contrast'] for s in rows), topics)} | |",
        f"| words per summary, median (max) | {statistics.median(words):.0f} ({max(words)}) | |",
        f"| digest time per week, cold, median (max) | {statistics.median(float(r['seconds']) for r in mine):.1f} s ({max(float(r['seconds']) for r in mine):.1f} s) | |",  # type: ignore[arg-type]
        "",
        "Left out (in the JSON export, with the reason): " + (", ".join(f"{n}× {r}" for r, n in reasons.most_common()) or "nothing"),
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("fake", "embedded", "both"), default="fake")
    parser.add_argument("--weeks", nargs="*", default=[*HF_WEEKS, SEED_WEEK])
    args = parser.parse_args()
    load_start = load_average()
    backends = ("fake", "embedded") if args.backend == "both" else (args.backend,)
    root = Path(tempfile.mkdtemp(prefix="summary-bench-stores-"))
    runs = []
    try:
        for week in args.weeks:
            data = build_week(week, root)
            for backend in backends:
                print(f"{week} {backend} ...", file=sys.stderr, flush=True)
                runs.append(run_week(data, week, backend))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lines = [
        "# Topic summaries (issue #16 item 3)", "",
        f"`python -m benchmarks.topic_summary_bench --backend {args.backend}`; weeks {', '.join(args.weeks)} "
        f"(HF test weeks frozen in topics_split.json, plus the seed pages' {SEED_WEEK}); load average "
        f"{load_start} at start, {load_average()} at end. The summary structure was tuned on 2026-W32 (in neither split) and the "
        "planted test corpus; the \"where they differ\" term rules (two-word terms, else a title word; a side's "
        "share at least twice the other's) were set while reading the fake's output on 2025-W38 and 2026-W10, "
        "so those two weeks are not untouched for that sentence.", "",
        *table(runs, "fake"), *table(runs, "embedded"),
        "Samples for the hand check: `topic_summaries_sample.md`.",
    ]
    write_result("topic_summaries", lines, runs)
    sample = ["# Topic summaries as shown (for the hand check)", ""]
    for r in runs:
        sample += [f"## {r['week']} · {r['backend']}", ""]
        for t in r["summaries"]:  # type: ignore[union-attr]
            sample += [f"**{t['title']}** ({t['papers']} papers{', app shared sentence' if t['fallback'] else ''}): {t['summary']}", ""]
    write_result("topic_summaries_sample", sample)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
