"""The own-work re-ranking trial (benchmarks/which_papers_ownwork.py): re-ranking, route scope and the pair count."""

from __future__ import annotations

from typing import Any

from benchmarks.which_papers_ownwork import evaluate, group_means, own_max, pairs_won


def _row(pid: str, score: float, own: float, background: float) -> dict[str, Any]:
    return {"pid": pid, "score": score, "cos": [background, own], "roles": ["background", "own"], "title_cos": 0.0}


def _data(route: str) -> list[dict[str, Any]]:
    # 10 non-relevant papers above the relevant one; their own work matches the question less than its
    rows = [_row(f"x{i}", 1.0 - i / 100, own=0.2, background=0.9) for i in range(10)] + [_row("hit", 0.85, 0.8, 0.1)]
    return [{"case": {"id": "c", "type": "which_papers", "expected": ["hit"]}, "route": route, "rows": rows}]


def test_own_work_max_ignores_background_sentences() -> None:
    assert own_max(_row("p", 0.0, own=0.3, background=0.9)) == 0.3
    assert own_max({**_row("p", 0.0, 0.3, 0.9), "title_cos": 0.5}, title=True) == 0.5


def test_a_feature_lifts_a_missed_paper_into_the_top_10_only_on_its_route() -> None:
    shipped, _ = evaluate(_data("which"), None, 0.0, False)
    lifted, per = evaluate(_data("which"), own_max, 1.0, True)
    assert shipped["which"] == 0.0 and lifted["which"] == 1.0 and per == {"c": 1.0}
    elsewhere, _ = evaluate(_data("find"), own_max, 1.0, True)
    assert elsewhere["which"] == 0.0  # routed elsewhere: left as shipped


def test_pairs_and_group_means_compare_the_missed_paper_with_the_displacers() -> None:
    assert pairs_won(_data("which"), own_max) == (1.0, 10)
    assert pairs_won(_data("which"), lambda r: r["score"]) == (0.0, 10)
    means = group_means(_data("which"), own_max)
    assert means["missed"] == 0.8 and abs(means["displacer"] - 0.2) < 1e-9
