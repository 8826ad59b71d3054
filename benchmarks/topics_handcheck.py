"""Frozen sets of weeks for the topic hand check (issue #16, mixed topics), and their print-out.

    python -m benchmarks.topics_handcheck --draw [--set handcheck4]   # once per set: draws it, records it in topics_split.json
    python -m benchmarks.topics_handcheck --show [WEEK...] [--set S]  # the set's (or these weeks') topics with member titles

The six test weeks of the first hand check were read while a field signal was tried (session 31), so
they no longer judge a change nobody tuned on. These weeks are drawn from the HF Daily Papers weeks in
no set of `topics_split.json` (most carry no HF keywords, so no benchmark measure reads them), with at
least MIN_PAPERS papers (a full week), not the seed week (`examples/daily-papers`, read by earlier
checks), with the set's fixed seed (SEEDS); they are recorded under the set's name before anyone looks at
their topics, and `--draw` refuses to draw a set again. "handcheck2" (session 32) was drawn when only dev
and test were frozen; "handcheck3" (session 33) also leaves out handcheck2's weeks, "handcheck4" (session 34)
handcheck2's and handcheck3's.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from assistant.chains.clustering import cluster, normalize_rows
from assistant.chains.topic_labels import group_titles
from assistant.config import Settings
from assistant.embeddings import make_embedder
from benchmarks.topics_data import SPLIT, frozen_split, load_weeks, paper_vectors
from benchmarks.topics_fieldmodel import COLUMNS, fit, probabilities
from benchmarks.topics_fieldsignal import placed_by_field

SEEDS = {"handcheck2": 20261207, "handcheck3": 20261208, "handcheck4": 20261209}  # one per session, fixed before each draw
WEEKS = 3
MIN_PAPERS = 40
SEED_WEEK = "2024-W23"  # the sample pages of examples/daily-papers


def draw(key: str) -> list[str]:
    """WEEKS week labels drawn with the set's seed from the eligible weeks in no frozen set."""
    split = frozen_split()
    used = {w for name, weeks in split.items() if not name.startswith("note") for w in weeks} | {SEED_WEEK}
    pool = sorted(w.label for w in load_weeks(min_keyworded=0) if w.label not in used and len(w.papers) >= MIN_PAPERS)
    picked = np.random.default_rng(SEEDS[key]).choice(len(pool), WEEKS, replace=False)
    return sorted(pool[i] for i in picked)


def record(key: str, weeks: list[str]) -> None:
    """Add the drawn weeks to topics_split.json under `key` (refuses when the set is already there)."""
    split = frozen_split()
    if key in split:
        raise SystemExit(f"{key} is already frozen: {split[key]}")
    split[key] = weeks
    split["note_" + key] = (f"Drawn by benchmarks/topics_handcheck.py (seed {SEEDS[key]}) from the weeks in no earlier set "
                            f"with >= {MIN_PAPERS} papers, not the seed week, before any clustering of them was read. "
                            "Hand check only, once, at the end of a change tuned on dev.")
    SPLIT.write_text(json.dumps(split, indent=1) + "\n")


PLACEMENT = 0.8  # the field placement shown beside the digest's topics (`topics_fieldsignal --placement`, dev)


def show(labels: list[str]) -> list[str]:
    """Each week's topics as the digest groups them (no-model fallback titles), each member's title, and
    where the field placement (`topics_fieldsignal.placed_by_field`, confident >= PLACEMENT) puts it otherwise."""
    weeks = [w for w in load_weeks(min_keyworded=0) if w.label in set(labels)]
    vectors = paper_vectors(weeks, make_embedder(Settings(_env_file=None)).embed)
    model, note = fit()
    lines = [f"field model: {note}"]
    for week in weeks:
        raw = normalize_rows(np.stack([vectors[p.paper_id] for p in week.papers]))
        groups, other = cluster(raw)
        probs = probabilities(model, raw)
        placed_other = set(placed_by_field(raw, probs, PLACEMENT)[1])
        titles = group_titles([[week.papers[i] for i in g] for g in groups], week.papers)
        lines.append(f"=== {week.label}: {len(week.papers)} papers, {len(groups)} topics, {len(other)} in Other "
                     f"(field placement: {len(placed_other)} in Other)")
        for title, g in [*zip(titles, groups), ("Other", other)]:
            lines.append(f"--- {title} ({len(g)})")
            for i in g:
                moved = (i in placed_other) != (title == "Other" and i in other)
                mark = f"  [field placement: {'Other' if i in placed_other else 'stays in its topic'}, " \
                       f"{COLUMNS[int(probs[i].argmax())]} {probs[i].max():.2f}]" if moved else ""
                lines.append(f"    {week.papers[i].title}{mark}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draw", action="store_true", help="draw and record the set's weeks (once)")
    parser.add_argument("--set", default="handcheck4", choices=sorted(SEEDS), help="which frozen set (default: the newest)")
    parser.add_argument("--show", nargs="*", metavar="WEEK", help="print the frozen weeks' (or these weeks') topics for the hand check")
    args = parser.parse_args()
    if args.draw:
        weeks = draw(args.set)
        record(args.set, weeks)
        print(f"{args.set}: {weeks}")
    if args.show is not None:
        print("\n".join(show(args.show or frozen_split()[args.set])))


if __name__ == "__main__":
    main()
