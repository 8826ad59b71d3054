"""`make bench`: run the quick benchmarks, then list the slow ones with the command that runs each.

Run from the repo root: `python -m benchmarks.run [--list] [NAME ...]`. With no NAME it runs every
quick benchmark (minutes, fake endpoint, no packaged chat model); a NAME runs that benchmark with
its default arguments, quick or not. Each benchmark writes its own file under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Bench:
    name: str
    args: tuple[str, ...]
    result: str
    cost: str  # what it needs and roughly how long it takes
    quick: bool = False

    @property
    def command(self) -> str:
        return " ".join(["python -m", f"benchmarks.{self.name}", *self.args])


BENCHES = [
    Bench("qa_bench", ("--backend", "fake"), "qa.md", "seed pages, fake endpoint; a few minutes", quick=True),
    Bench("fetch_bench", (), "fetch.md", "shared HF data; about a minute", quick=True),
    Bench("trace_question", (), "trace.md", "seed pages, fake endpoint; a minute (rewrites ARCHITECTURE.md's trace)", quick=True),
    Bench("foryou_bench", (), "foryou.md", "shared HF data; embeds its papers once (tens of minutes), then minutes"),
    Bench("answers_bench", ("--split", "test", "--backend", "fake"), "answers.md", "shared HF data; tens of minutes"),
    Bench("support_bench", (), "support.md", "SciFact in the shared data; tens of minutes"),
    Bench("qa_bench", ("--backend", "embedded"), "qa.md", "the packaged local model; about an hour"),
    Bench("ingest_bench", (), "ingest.md", "shared HF data (9,881 rows); about 10 minutes"),
    Bench("retrieval_bench", (), "retrieval.md", "SciFact and HF data; hours the first time (stores cached)"),
    Bench("digest_bench", (), "digest.md", "shared HF data; minutes (add --embedded for the local model)"),
    Bench("scale_bench", (), "scale.md", "run `--embed-only` first; hours the first time"),
    Bench("ui_bench", ("--sessions", "8", "--rounds", "16"), "ui.md", "chromium + chromedriver; minutes"),
    Bench("crash_stress", (), "crash.md", "shared HF data; about 20 minutes"),
    Bench("calibrate_support", (), "support_calibration.md", "SciFact; half an hour without its cache"),
    Bench("calibrate_offtopic", (), "offtopic_calibration.md", "shared HF data; minutes"),
    Bench("takeaway_sample", (), "takeaway_sample.md", "shared HF data; a sample for hand grading"),
]


def run(bench: Bench) -> bool:
    print(f"\n== {bench.command}  ({bench.cost})", flush=True)
    started = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", f"benchmarks.{bench.name}", *bench.args])
    took = time.perf_counter() - started
    verdict = f"wrote benchmarks/results/{bench.result}" if code == 0 else f"FAILED (exit {code})"
    print(f"== {bench.name}: {verdict} in {took:.0f} s", flush=True)
    return code == 0


def print_list(benches: list[Bench]) -> None:
    width = max(len(b.command) for b in benches)
    for b in benches:
        print(f"  {b.command:<{width}}  -> benchmarks/results/{b.result}  ({b.cost})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: the quick ones)")
    parser.add_argument("--list", action="store_true", help="list every benchmark and exit")
    args = parser.parse_args(argv)
    if args.list:
        print_list(BENCHES)
        return 0
    known = {b.name for b in BENCHES}
    unknown = sorted(set(args.names) - known)
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {sorted(known)}")
    chosen = [next(b for b in BENCHES if b.name == n) for n in args.names] or [b for b in BENCHES if b.quick]
    failed = [b.name for b in chosen if not run(b)]
    if not args.names:
        print("\nNot run (slow, or they need the packaged model, a browser or hours of embedding):")
        print_list([b for b in BENCHES if not b.quick])
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
