"""A second frozen set of weeks for the topic hand check (issue #16, mixed topics), and its print-out.

    python -m benchmarks.topics_handcheck --draw      # once: draws the weeks, records them in topics_split.json
    python -m benchmarks.topics_handcheck --show [WEEK...]   # their (or these weeks') topics with member titles

The six test weeks of the first hand check were read while a field signal was tried (session 31), so
they no longer judge a change nobody tuned on. These weeks are drawn from the HF Daily Papers weeks in
neither half of `topics_split.json` (most carry no HF keywords, so no benchmark measure reads them),
with at least MIN_PAPERS papers (a full week), not the seed week (`examples/daily-papers`, read by earlier
checks), with the fixed SEED; they are recorded as "handcheck2" before anyone looks at their topics, and
`--draw` refuses to draw again.
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

SEED = 20261207  # the session's date; fixed before the draw
WEEKS = 3
MIN_PAPERS = 40
SEED_WEEK = "2024-W23"  # the sample pages of examples/daily-papers
KEY = "handcheck2"


def draw() -> list[str]:
    """WEEKS week labels drawn with SEED from the eligible weeks outside the dev and test halves."""
    split = frozen_split()
    used = set(split["dev"]) | set(split["test"]) | {SEED_WEEK}
    pool = sorted(w.label for w in load_weeks(min_keyworded=0) if w.label not in used and len(w.papers) >= MIN_PAPERS)
    picked = np.random.default_rng(SEED).choice(len(pool), WEEKS, replace=False)
    return sorted(pool[i] for i in picked)


def record(weeks: list[str]) -> None:
    """Add the drawn weeks to topics_split.json under KEY (refuses when they are already there)."""
    split = frozen_split()
    if KEY in split:
        raise SystemExit(f"{KEY} is already frozen: {split[KEY]}")
    split[KEY] = weeks
    split["note_" + KEY] = (f"Drawn by benchmarks/topics_handcheck.py (seed {SEED}) from the weeks outside dev and test "
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
    parser.add_argument("--draw", action="store_true", help="draw and record the weeks (once)")
    parser.add_argument("--show", nargs="*", metavar="WEEK", help="print the frozen weeks' (or these weeks') topics for the hand check")
    args = parser.parse_args()
    if args.draw:
        weeks = draw()
        record(weeks)
        print(f"{KEY}: {weeks}")
    if args.show is not None:
        print("\n".join(show(args.show or frozen_split()[KEY])))


if __name__ == "__main__":
    main()
