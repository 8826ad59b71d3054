"""The "for you" feed, measured offline: ranking quality for simulated readers, and ranking time.

Run: `python -m benchmarks.foryou_bench [--tune]`; writes benchmarks/results/foryou.md (+ .json).
Data: HF Daily Papers rows with HF's machine keywords (`benchmarks/foryou_data.py`). A simulated
reader has one theme (an HF keyword, frozen into dev/test by `benchmarks/foryou_themes.py`): they
star 5 papers of the theme listed before the cut-off (and/or follow the theme as a topic); every
later ISO week that has a theme paper is ranked, and the week's theme papers are the relevant ones.
Measures: precision@10 and nDCG@10 per week, averaged over weeks then themes, for the personal
ranking, ranking by upvotes and by date (newest arXiv publication first). `--tune` grid-searches the
blend weights on dev themes only; the README quotes test themes.
"""

from __future__ import annotations

import os

# One BLAS thread: the matrices are small (a week x 384), and on a busy shared machine extra BLAS
# threads made the run ~4x slower in wall time.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from assistant.foryou.profile import Profile, Star  # noqa: E402
from assistant.foryou.rank import WEIGHTS, Weights, rank  # noqa: E402
from assistant.papers import Paper, normalize_text  # noqa: E402
from benchmarks.foryou_data import load_rows, vectors  # noqa: E402
from benchmarks.results_io import load_average, write_result  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
THEMES = ROOT / "benchmarks" / "foryou_themes.json"
OUT = ROOT / "benchmarks" / "results" / "foryou.md"
N_STARS = 5
K = 10


def week_of(day: str) -> str:
    y, w, _ = date.fromisoformat(day).isocalendar()
    return f"{y}-W{w:02d}"


def metrics(ranked_ids: list[str], relevant: set[str]) -> tuple[float, float]:
    """precision@K and nDCG@K (binary gains)."""
    top = ranked_ids[:K]
    hits = [1.0 if pid in relevant else 0.0 for pid in top]
    dcg = sum(h / np.log2(i + 2) for i, h in enumerate(hits))
    ideal = sum(1 / np.log2(i + 2) for i in range(min(len(relevant), K)))
    return sum(hits) / K, dcg / ideal if ideal else 0.0


class World:
    """Papers, vectors and weeks of the shared data, loaded once."""

    def __init__(self) -> None:
        rows = load_rows()
        vecs = vectors(rows)
        self.papers: dict[str, Paper] = {}
        self.vec: dict[str, np.ndarray] = {}
        self.keywords: dict[str, set[str]] = {}
        self.weeks: dict[str, list[str]] = defaultdict(list)
        for row, v in zip(rows, vecs):
            pid = row["arxiv_id"]
            self.papers[pid] = Paper(
                paper_id=pid, title=normalize_text(row["title"]), abstract=normalize_text(row["abstract"]),
                authors=row.get("authors") or [], dates=[row["list_date"]], published=row.get("published_at"),
                upvotes=row.get("upvotes"),
            )
            self.vec[pid] = v
            self.keywords[pid] = {k.lower() for k in row["hf_ai_keywords"]}
            self.weeks[week_of(row["list_date"])].append(pid)


def simulate(world: World, theme: str, cutoff: str, mode: str, weights: Weights, topic_vec: np.ndarray | None) -> dict:
    """One reader: mean p@10 / nDCG@10 over the held-out weeks, for the personal ranking and the baselines."""
    rng = random.Random(theme)
    earlier = sorted(pid for pid, kw in world.keywords.items() if theme in kw and world.papers[pid].dates[0] < cutoff)
    stars = rng.sample(earlier, N_STARS) if mode != "topic" else []
    profile = Profile(
        topics=[theme] if mode != "stars" else [],
        stars=[Star(paper_id=s, title=world.papers[s].title) for s in stars],
    )
    scores: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for week, ids in sorted(world.weeks.items()):
        if min(world.papers[i].dates[0] for i in ids) < cutoff:
            continue
        relevant = {i for i in ids if theme in world.keywords[i]}
        if not relevant:
            continue
        papers = [world.papers[i] for i in ids]
        ranked = rank(papers, world.vec, profile, {s: world.vec[s] for s in stars},
                      topic_vec if mode != "stars" else None, weights=weights)
        scores["personal"].append(metrics([r.paper.paper_id for r in ranked], relevant))
        by_votes = sorted(papers, key=lambda p: (-(p.upvotes or 0), p.paper_id))
        scores["upvotes"].append(metrics([p.paper_id for p in by_votes], relevant))
        by_date = sorted(papers, key=lambda p: (p.published or "", p.paper_id), reverse=True)
        scores["date"].append(metrics([p.paper_id for p in by_date], relevant))
    return {k: (statistics.mean(a for a, _ in v), statistics.mean(b for _, b in v), len(v)) for k, v in scores.items()}


def evaluate(world: World, themes: list[str], cutoff: str, mode: str, weights: Weights, topic_vecs: dict) -> dict:
    per = [simulate(world, t, cutoff, mode, weights, topic_vecs.get(t)) for t in themes]
    out = {}
    for method in ("personal", "upvotes", "date"):
        out[method] = {
            "p@10": round(statistics.mean(r[method][0] for r in per), 4),
            "ndcg@10": round(statistics.mean(r[method][1] for r in per), 4),
        }
    out["readers"] = len(per)
    out["weeks"] = sum(r["personal"][2] for r in per)
    return out


def tune(world: World, dev: list[str], cutoff: str, topic_vecs: dict) -> Weights:
    """Grid search on dev themes (stars + topic readers), by nDCG@10."""
    best, best_w = -1.0, WEIGHTS
    for clf in (0.5, 1.0, 2.0):
        for star in (0.0, 0.5, 1.0):
            for topic in (0.5, 1.0, 2.0):
                for pop in (0.0, 0.1, 0.3):
                    w = dataclasses.replace(WEIGHTS, classifier=clf, star=star, topic=topic, popularity=pop)
                    score = evaluate(world, dev, cutoff, "both", w, topic_vecs)["personal"]["ndcg@10"]
                    if score > best:
                        best, best_w = score, w
    return best_w


def timing(world: World, topic_vecs: dict, n: int = 500, repeats: int = 20) -> dict:
    """Seconds to rank an n-paper week (5 stars, 2 topics, 1 author, 3 "not interested"): median and max."""
    rng = random.Random(0)
    ids = rng.sample(sorted(world.papers), n + 8)
    week, stars, hidden = ids[:n], ids[n : n + 5], ids[n + 5 :]
    topics = list(topic_vecs)[:2]
    profile = Profile(topics=topics, authors=[world.papers[week[0]].authors[0]],
                      stars=[Star(paper_id=s) for s in stars], not_interested=[Star(paper_id=h) for h in hidden])
    tv = np.stack([topic_vecs[t] for t in topics])
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        rank([world.papers[i] for i in week], world.vec, profile, {s: world.vec[s] for s in stars}, tv,
             {h: world.vec[h] for h in hidden})
        times.append(time.perf_counter() - t0)
    return {"papers": n, "median_s": round(statistics.median(times), 4), "max_s": round(max(times), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="Grid-search the blend weights on dev themes and print them.")
    args = parser.parse_args()
    from assistant.embeddings import LocalEmbedder

    split = json.loads(THEMES.read_text())
    world = World()
    themes = split["dev"] + split["test"]
    topic_vecs = dict(zip(themes, LocalEmbedder().embed(themes)))
    if args.tune:
        print(tune(world, split["dev"], split["cutoff"], topic_vecs))
        return
    result: dict[str, object] = {"weights": dataclasses.asdict(WEIGHTS), "load_average": load_average()}
    for name in ("dev", "test"):
        result[name] = {m: evaluate(world, split[name], split["cutoff"], m, WEIGHTS, topic_vecs)
                        for m in ("stars", "topic", "both")}
    result["timing"] = timing(world, topic_vecs)
    print(write_result("foryou", report(result, split), result, OUT.parent).read_text())


def report(r: dict, split: dict) -> str:
    lines = [
        "# For-you ranking: simulated readers on HF Daily Papers",
        "",
        f"Command: `python -m benchmarks.foryou_bench`. Load average at start: {r['load_average']}.",
        f"Readers: one per theme (HF machine keyword), {len(split['dev'])} dev / {len(split['test'])} test themes "
        f"frozen in `benchmarks/foryou_themes.json` before tuning; stars = {N_STARS} theme papers listed before "
        f"{split['cutoff']}; every later ISO week with a theme paper is ranked (relevant = that week's theme papers).",
        "",
        "| split | reader | weeks | personal p@10 | upvotes p@10 | date p@10 | personal nDCG@10 | upvotes nDCG@10 | date nDCG@10 | p@10 ratio vs upvotes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("test", "dev"):
        for mode, m in r[name].items():
            ratio = m["personal"]["p@10"] / max(m["upvotes"]["p@10"], 1e-9)
            lines.append(
                f"| {name} | {mode} | {m['weeks']} | {m['personal']['p@10']:.3f} | {m['upvotes']['p@10']:.3f} | "
                f"{m['date']['p@10']:.3f} | {m['personal']['ndcg@10']:.3f} | {m['upvotes']['ndcg@10']:.3f} | "
                f"{m['date']['ndcg@10']:.3f} | {ratio:.1f}x |"
            )
    t = r["timing"]
    lines += [
        "",
        f"Ranking time, {t['papers']}-paper week (5 stars, 2 topics, 1 author, 3 not-interested; vectors in memory): "
        f"median {t['median_s'] * 1000:.0f} ms, max {t['max_s'] * 1000:.0f} ms (target <= 1 s).",
        "",
        f"Weights: `{r['weights']}`.",
        "",
        "What this can show: whether the ranking puts papers of a reader's theme into the top 10 of a later week, "
        "compared with what popularity or recency alone would. What it cannot: relevance is HF's machine keyword "
        "matched exactly (synonyms such as 'moe' / 'mixture-of-experts' count as misses for every method, so all "
        "precisions are underestimates); a real reader's interest is wider than one keyword and drifts; the 'topic' "
        "reader follows the keyword text itself, which flatters topic similarity; stars are random theme papers, "
        "not papers a person chose; no reasons' usefulness is measured.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
