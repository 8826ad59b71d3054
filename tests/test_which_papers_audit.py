"""The "which papers" label audit (benchmarks/which_papers_pool.py): verdicts applied to the cases, earlier labels kept."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.answers_bench import load_cases
from benchmarks.answers_grade import recall_at
from benchmarks.which_papers_pool import QRELS, apply, audited, read_qrels


def _verdicts(relevant: dict[str, int]) -> dict[str, dict[str, object]]:
    return {p: {"case": "x", "paper": p, "relevant": r, "title": p.upper()} for p, r in relevant.items()}


def test_audited_case_keeps_the_earlier_labels_and_names_every_change() -> None:
    case = {"id": "x", "type": "which_papers", "question": "q", "expected": ["a", "b"], "key_facts": [],
            "min_cited": 2, "titles": ["A", "B"], "label_note": "added after the freeze"}
    new = audited(case, _verdicts({"a": 1, "b": 0, "c": 1, "d": 0}))
    assert new["expected"] == ["a", "c"] and new["expected_before_audit"] == ["a", "b"]
    assert new["titles"] == ["A", "C"]
    assert "added c" in new["label_note"] and "removed b" in new["label_note"] and new["label_note"].startswith("added after the freeze")
    assert list(new)[:5] == ["id", "type", "question", "expected", "expected_before_audit"]  # field order kept
    again = audited(new, _verdicts({"a": 1, "b": 0, "c": 1, "d": 0}))
    assert again == new  # re-applying starts from the earlier labels: idempotent


def test_a_labelled_paper_left_unjudged_stops_the_audit() -> None:
    case = {"id": "x", "type": "which_papers", "question": "q", "expected": ["a", "b"], "key_facts": []}
    try:
        audited(case, _verdicts({"a": 1}))
    except SystemExit as exc:
        assert "b" in str(exc)
    else:
        raise AssertionError("an unjudged label must stop the audit")


def test_apply_rewrites_only_the_which_papers_cases(tmp_path: Path) -> None:
    other = {"id": "d1", "split": "dev", "type": "detail", "question": "how many?", "expected": ["p"], "key_facts": [["7"]]}
    which = {"id": "d2", "split": "dev", "type": "which_papers", "question": "which papers do x", "expected": ["a", "b"], "key_facts": []}
    (tmp_path / "dev.jsonl").write_text(json.dumps(other, ensure_ascii=False) + "\n" + json.dumps(which) + "\n", encoding="utf-8")
    (tmp_path / "test.jsonl").write_text("", encoding="utf-8")
    qrels = tmp_path / "qrels.jsonl"
    qrels.write_text("\n".join(json.dumps({"case": "d2", "paper": p, "relevant": r, "title": p}) for p, r in
                               (("a", 1), ("b", 1), ("c", 1))) + "\n", encoding="utf-8")
    assert apply(qrels, tmp_path) == {"cases": 1, "added": 1, "removed": 0}
    lines = (tmp_path / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0]) == other
    assert json.loads(lines[1])["expected"] == ["a", "b", "c"]


def test_the_frozen_which_papers_labels_are_the_relevant_verdicts_of_the_audit() -> None:
    qrels = read_qrels(QRELS)
    cases = [c for c in load_cases("all") if c["type"] == "which_papers"]
    assert cases and {c["id"] for c in cases} == set(qrels)
    for c in cases:
        relevant = {p for p, v in qrels[c["id"]].items() if v["relevant"]}
        assert set(c["expected"]) == relevant, c["id"]
        assert set(c["expected_before_audit"]) <= set(qrels[c["id"]]), c["id"]  # every earlier label was judged
        assert len(c["expected"]) >= c.get("min_cited", 1), c["id"]


def test_capped_recall_counts_a_full_list_of_right_papers_as_complete() -> None:
    expected = [f"p{i}" for i in range(12)]
    ranked = expected[:10]
    assert recall_at(expected, ranked, 10) == 10 / 12
    assert recall_at(expected, ranked, 10, capped=True) == 1.0
    assert recall_at(["a", "b"], ["a", "x"], 10, capped=True) == 0.5  # fewer than k: the plain recall


def test_misses_diagnosis_scores_which_papers_at_10_capped_and_paraphrases_at_5() -> None:
    from benchmarks.which_papers_misses import scores

    many = [f"p{i}" for i in range(12)]
    cases = [{"id": "w", "type": "which_papers", "question": "which?", "expected": many},
             {"id": "f", "type": "paraphrase", "question": "the one", "expected": ["x"]}]
    ranked = {"which?": many, "the one": ["a", "b", "c", "d", "x", "e"]}
    got = scores(cases, lambda query, k: ranked[query][:k])
    assert got["w"] == (10 / 12, 1.0)  # a top 10 of right papers: capped recall 1
    assert got["f"] == (1.0, 1.0)
