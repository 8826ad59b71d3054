"""The answer benchmark's grader, oracle and frozen cases (small fixtures; shared data only where marked)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest

from benchmarks.answers_bench import CASES_DIR, SHARED, load_cases
from benchmarks.answers_grade import UNANSWERABLE, answer_view, contains, grade, normalize, recall_at
from benchmarks.answers_oracle import OracleResponder, build_gold, gold_sentences
from tests.fake_openai import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent

SHRINK = {
    "paper_id": "t:shrink",
    "title": "Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning",
    "abstract": "Recent frameworks mostly set a fixed confidence threshold to discard uncertain samples. "
    "We propose a novel method dubbed ShrinkMatch to learn uncertain samples. "
    "For each uncertain sample, it adaptively seeks a shrunk class space. It reaches 71.9% accuracy.",
}
OTHER = {
    "paper_id": "t:other",
    "title": "SimMatchV2: Semi-Supervised Learning with Graph Consistency",
    "abstract": "We introduce SimMatchV2, which formulates consistency regularizations from the graph perspective.",
}
CASE = {
    "id": "x1", "split": "dev", "type": "paraphrase", "question": "which method removes confusing labels?",
    "expected": ["t:shrink"], "key_facts": [["ShrinkMatch"]], "titles": [SHRINK["title"]],
}


def view(answer: str, sentences: list[tuple[str, list[int], bool]], refused: bool = False) -> dict:
    """An Answer as the harness sees it (the dict form of `assistant ask --json`)."""
    evidence = [{"paper": SHRINK, "score": 1.0}, {"paper": OTHER, "score": 0.5}]
    cites = {}
    for _, ns, ok in sentences:
        for n in ns:
            paper = evidence[n - 1]["paper"]
            cites[n] = {"n": n, "paper_id": paper["paper_id"], "title": paper["title"], "supported": ok or cites.get(n, {}).get("supported", False)}
    data = {
        "answer": answer, "refused": refused, "evidence": evidence, "citations": list(cites.values()),
        "sentences": [{"text": t, "cites": ns, "supported": ok} for t, ns, ok in sentences],
    }
    return answer_view(data)


def test_normalize_and_contains_accept_the_ways_a_fact_is_written() -> None:
    assert normalize("TÜLU 3 reaches 71.9\\% (3.43x faster), 250,000 images.") == "tulu 3 reaches 71.9% 3.43 x faster 250000 images"
    assert contains("Speedup of 3.43x.", "3.43")
    assert contains("ell_{2,1}-norm", "2,1")
    assert not contains("it reaches 171.9%", "71.9")
    assert contains("quantizes activations", "quantiz*") and not contains("quantizes", "quantiz")


def test_a_correct_cited_answer_is_useful() -> None:
    text = "ShrinkMatch shrinks the class space of uncertain samples [1]."
    result = grade(CASE, view(text, [(text, [1], True)]))
    assert result["verdict"] == "useful" and result["wrong"] == []


def test_the_key_fact_without_a_supported_expected_citation_is_only_partial() -> None:
    text = "ShrinkMatch learns from uncertain samples [1]."
    assert grade(CASE, view(text, [(text, [1], False)]))["verdict"] == "partial"
    other = "It is SimMatchV2 [2]."
    assert grade(CASE, view(other, [(other, [2], True)]))["verdict"] == "not_useful"


def test_a_refusal_grades_refused_and_is_right_only_for_unanswerable_cases() -> None:
    refused = view("The papers do not cover this.", [], refused=True)
    assert grade(CASE, refused)["verdict"] == "refused"
    ooc = {**CASE, "type": "out_of_corpus", "expected": [], "key_facts": [], "titles": ["TruthRL: Incentivizing Truthful LLMs"]}
    assert grade(ooc, refused)["verdict"] == "refused"
    text = "TruthRL balances accuracy and abstention [2]."
    answered = grade(ooc, view(text, [(text, [2], True)]))
    assert answered["verdict"] == "answered"
    assert "TruthRL" in answered["wrong"][0]["reasons"][0]  # the missing paper attributed to a neighbour


def test_a_supported_citation_of_the_wrong_paper_stating_the_key_fact_is_wrong() -> None:
    text = "SimMatchV2 is called ShrinkMatch [2]."
    result = grade(CASE, view(text, [(text, [2], True)]))
    assert result["wrong"] and result["wrong"][0]["paper_id"] == "t:other"
    assert result["verdict"] != "useful"


def test_an_invented_number_labelled_supported_is_wrong_but_a_stated_one_is_not() -> None:
    bad = "ShrinkMatch reaches 88.5% accuracy [1]."
    assert grade(CASE, view(bad, [(bad, [1], True)]))["wrong"][0]["reasons"][0].startswith("numbers not in")
    good = "ShrinkMatch reaches 71.9% accuracy [1]."
    assert grade(CASE, view(good, [(good, [1], True)]))["wrong"] == []
    unlabelled = view(bad, [(bad, [1], False)])  # marked unsupported: the app was honest
    assert grade(CASE, unlabelled)["wrong"] == []


def test_a_comparison_sentence_is_graded_clause_by_clause_against_the_paper_each_clause_cites() -> None:
    """ "A does X [1], whereas B does Y [2]": [1] is not answerable for B's number, nor [2] for A's name."""
    both = "ShrinkMatch reaches 71.9% accuracy [1], whereas SimMatchV2 works on graphs [2]."
    assert grade(CASE, view(both, [(both, [1, 2], True)]))["wrong"] == []
    swapped = "SimMatchV2 works on graphs [1], whereas ShrinkMatch reaches 71.9% accuracy [2]."
    wrong = grade(CASE, view(swapped, [(swapped, [1, 2], True)]))["wrong"]
    assert [w["paper_id"] for w in wrong] == ["t:other"]  # the key fact and the number, cited to the wrong paper
    assert any(r.startswith("numbers not in") for r in wrong[0]["reasons"])


def test_compare_and_which_papers_need_enough_expected_papers_cited() -> None:
    compare = {**CASE, "type": "compare", "expected": ["t:shrink", "t:other"], "min_cited": 2,
               "key_facts": [["shrunk class space"], ["graph"]]}
    one = "ShrinkMatch seeks a shrunk class space [1]; SimMatchV2 uses a graph."
    assert grade(compare, view(one, [(one, [1], True)]))["verdict"] == "partial"
    s1, s2 = "ShrinkMatch seeks a shrunk class space [1].", "SimMatchV2 takes the graph perspective [2]."
    assert grade(compare, view(f"{s1} {s2}", [(s1, [1], True), (s2, [2], True)]))["verdict"] == "useful"
    assert recall_at(["a", "b"], ["x", "a", "y"], 2) == 0.5


def test_the_oracle_cites_the_expected_paper_by_its_number_in_the_prompt() -> None:
    papers = {p["paper_id"]: p for p in (SHRINK, OTHER)}
    assert gold_sentences(SHRINK["abstract"], [["ShrinkMatch"]]) == ["We propose a novel method dubbed ShrinkMatch to learn uncertain samples."]
    gold = build_gold([CASE, {**CASE, "id": "x2", "type": "absent_detail", "question": "learning rate of ShrinkMatch?", "expected": []}], papers)
    prompt = (f"Evidence:\n[1] {OTHER['title']} (2025-06-06): {OTHER['abstract']}\n"
              f"[2] {SHRINK['title']} (undated): {SHRINK['abstract']}\n\nQuestion: {CASE['question']}\n\nAnswer:")
    oracle = OracleResponder(gold)
    with FakeOpenAI(responder=oracle) as server:  # the real HTTP path the app uses
        body = {"model": "m", "messages": [{"role": "user", "content": prompt}]}
        reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=10).json()
    assert reply["choices"][0]["message"]["content"] == "We propose a novel method dubbed ShrinkMatch to learn uncertain samples [2]."
    assert oracle([{"role": "user", "content": prompt.replace(CASE["question"], "learning rate of ShrinkMatch?")}]) == "NOT_IN_PAPERS"
    assert oracle([{"role": "user", "content": prompt.replace(f"[2] {SHRINK['title']}", "[2] Another paper")}]) == "NOT_IN_PAPERS"


def test_the_frozen_cases_are_well_formed_and_the_test_split_is_large_enough() -> None:
    dev, test = load_cases("dev"), load_cases("test")
    assert len(dev) + len(test) >= 300
    assert len({c["id"] for c in dev + test}) == len(dev) + len(test)
    assert not {c["question"] for c in dev} & {c["question"] for c in test}
    frozen = [c for c in dev if not c.get("after_freeze")]  # dev-only cases written after the split was frozen
    assert all(c["split"] == "dev" for c in dev if c.get("after_freeze"))
    by_type_dev, by_type_test = Counter(c["type"] for c in frozen), Counter(c["type"] for c in test)
    for t, n in (by_type_dev + by_type_test).items():
        assert by_type_test[t] >= 0.4 * n, t  # stratified: every type >= 40% in test
    for c in dev + test:
        if c["type"] in UNANSWERABLE:
            assert c["expected"] == [] and c["about"], c["id"]
        else:
            assert c["expected"] and (c["key_facts"] or c["type"] == "which_papers"), c["id"]


def test_the_fresh_cases_are_new_and_ask_about_papers_no_other_case_touches() -> None:
    old, fresh = load_cases("all"), load_cases("fresh")
    assert len(fresh) >= 50 and all(c["split"] == "fresh" for c in fresh)
    assert not {c["id"] for c in fresh} & {c["id"] for c in old}
    touched = {p for c in old for p in c["expected"] + c.get("about", [])}
    assert not {p for c in fresh for p in c["expected"] + c.get("about", [])} & touched
    spec = json.loads((CASES_DIR / "store.json").read_text(encoding="utf-8"))
    for c in fresh:
        if c["type"] == "out_of_corpus":  # never ingested: not a distractor, not a seed paper
            assert c["about"][0] not in spec["distractors"] and not c["about"][0].startswith("t:"), c["id"]


def _seed_abstracts() -> dict[str, str]:
    from assistant.sources import find_input_files, merge_papers, parse_file

    files, _ = find_input_files([ROOT / "examples" / "daily-papers"])
    papers = merge_papers([p for f in files for p in parse_file(f, year=2025).papers])
    return {p.paper_id: f"{p.title}. {p.abstract}" for p in papers}


def test_every_key_fact_is_stated_by_an_expected_abstract_and_absent_details_are_absent() -> None:
    texts = _seed_abstracts()
    hf_path = SHARED / "hf_daily_papers" / "hf_daily_papers.jsonl.gz"
    if hf_path.exists():
        with gzip.open(hf_path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                texts.setdefault(row["arxiv_id"], f"{row['title']}. {row['abstract']}")
    checked = 0
    for c in load_cases("all") + load_cases("fresh"):
        if c["type"] == "absent_detail":
            if c["about"][0] in texts:  # else an HF paper and the shared data is absent
                assert not contains(texts[c["about"][0]], c["absent"]), c["id"]
            continue
        papers = [texts[p] for p in c["expected"] if p in texts]
        if len(papers) < len(c["expected"]):
            continue  # an HF paper and the shared data is absent
        for group in c.get("key_facts") or []:
            assert any(contains(t, group[0]) for t in papers), (c["id"], group[0])
        checked += 1
    assert checked >= 250


def test_store_definition_keeps_out_of_corpus_papers_out() -> None:
    spec = json.loads((CASES_DIR / "store.json").read_text(encoding="utf-8"))
    removed = set(spec["removed_out_of_corpus"])
    assert len(spec["distractors"]) >= 1000 and not removed & set(spec["distractors"])
    ooc = [c for c in load_cases("all") if c["type"] == "out_of_corpus"]
    assert ooc and all(c["about"][0] in removed for c in ooc if not c.get("after_freeze"))
    for c in ooc:  # later dev cases ask about HF rows never ingested: not a distractor, not a seed paper
        assert c["about"][0] in removed or not (c["about"][0] in spec["distractors"] or c["about"][0].startswith("t:")), c["id"]


@pytest.mark.skipif(not (SHARED / "hf_daily_papers").exists(), reason="shared HF data absent: ../shared/data/hf_daily_papers")
def test_store_distractors_exist_in_the_shared_data() -> None:
    spec = json.loads((CASES_DIR / "store.json").read_text(encoding="utf-8"))
    with gzip.open(SHARED / "hf_daily_papers" / "hf_daily_papers.jsonl.gz", "rt", encoding="utf-8") as f:
        ids = {json.loads(line)["arxiv_id"] for line in f}
    assert set(spec["distractors"]) <= ids and set(spec["removed_out_of_corpus"]) <= ids


@pytest.mark.skipif(not (SHARED / "hf_daily_papers").exists(), reason="shared HF data absent: ../shared/data/hf_daily_papers")
def test_support_bench_scores_a_check_and_its_hand_pairs_are_balanced() -> None:
    from benchmarks.support_bench import hand_pairs, score

    pairs = hand_pairs("all")
    assert len(pairs) >= 300 and all(p["abstract"] for p in pairs)
    kinds = Counter(p.get("why", p["kind"]) for p in pairs if not p["supported"])
    assert kinds["prior_work"] >= 10 and kinds["invented_detail"] >= 10 and kinds["other_paper"] >= 10
    assert sum(p["kind"] == "model_draft" for p in pairs) >= 100  # sentences the packaged model wrote
    base_rate = sum(p["supported"] for p in pairs) / len(pairs)
    says_yes = score([dict(p) for p in pairs], lambda sentence, title, abstract: (True, 1.0, False))
    assert says_yes["recall"] == 1.0 and says_yes["precision"] == round(base_rate, 3) < 0.65  # always agreeing is caught
    exact = score([dict(p) for p in pairs[:20]], lambda sentence, title, abstract: (False, 0.0, False))
    assert exact["precision"] is None and exact["recall"] == 0.0


def test_the_support_threshold_reaches_the_precision_without_losing_gold_answers() -> None:
    from benchmarks.fit_support import pick_threshold

    hand = np.array([0.9, 0.85, 0.8, 0.75] + [0.95] * 10)
    labels = np.array([1, 1, 0, 1] + [1] * 10)
    assert pick_threshold(hand, labels, np.full(50, 0.99)) == 0.81  # the lowest above the false positive at 0.80
    assert pick_threshold(hand, labels, np.array([0.99] * 30 + [0.80] * 2)) is None  # would lose 2 of 32 gold
    assert pick_threshold(np.array([0.99]), np.array([0]), np.full(5, 0.99)) is None


def test_the_not_verified_band_starts_where_warnings_stop_being_right() -> None:
    from benchmarks.fit_support import UNSUPPORTED_PRECISION, pick_unverified

    probs = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.9])
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    # Up to 0.70 at most one warning in seven is wrong (6 of 7 >= 85%); from 0.71 two in eight would be.
    assert pick_unverified(probs, labels, 0.9) == 0.7
    mixed = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1])  # a supported pair at 0.5 among unsupported ones
    low = pick_unverified(probs, mixed, 0.9)
    assert (mixed[probs < low] == 0).mean() >= UNSUPPORTED_PRECISION and low <= 0.9
    assert pick_unverified(probs, labels, 0.3) <= 0.3  # never above the supported bar


def test_the_support_model_keeps_the_features_signs() -> None:
    from benchmarks.fit_support import fit_signed

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)  # the second feature helps, but it is not a positive one
    _, _, w, _ = fit_signed(x, y, ("cosine", "negation"), np.ones(200))
    assert w[0, 0] > 0 and w[0, 1] == 0.0


def test_numbers_written_with_units_count_as_stated() -> None:
    paper = {**SHRINK, "abstract": SHRINK["abstract"] + " It trains a 12B model on 24GB GPUs, like LLaVA-1.5-13B."}
    text = "It trains a 12B model on 24GB GPUs and beats LLaVA-1.5-13B [1]."
    data = {"answer": text, "refused": False, "evidence": [{"paper": paper}],
            "citations": [{"n": 1, "paper_id": "t:shrink", "supported": True}],
            "sentences": [{"text": text, "cites": [1], "supported": True}]}
    assert grade(CASE, answer_view(data))["wrong"] == []
    data["sentences"][0]["text"] = "It trains a 17B model [1]."
    assert grade(CASE, answer_view(data))["wrong"]


def test_a_limited_run_takes_every_type_in_turn() -> None:
    from benchmarks.answers_bench import stratified

    cases = [{"type": t, "n": i} for i, t in enumerate("aaaabbc")]
    assert [c["type"] for c in stratified(cases, 5)] == ["a", "b", "c", "a", "b"]


def test_sentence_spans_index_the_text() -> None:
    from benchmarks.fit_sentence_vectors import sentence_spans

    text = "A Title: things\n\nWe study X, e.g. on\nImageNet (Fig. 2). Results are 3.5 points better!"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "A Title: things", "We study X, e.g. on\nImageNet (Fig. 2).", "Results are 3.5 points better!",
    ]


def test_chunk_runs_assemble_into_one_run_of_the_split(tmp_path: Path) -> None:
    """Chunks asked under separate holds of the heavy lock make one run: each case's last row, the worst load and RSS."""
    from benchmarks.answers_bench import assemble

    cases = load_cases("dev")
    ids = [c["id"] for c in cases]
    halves = [ids[: len(ids) // 2], ids[len(ids) // 2 :]]
    for i, (half, load, rss) in enumerate(zip(halves, (1.5, 3.0), (2400, 2600))):
        chunk = tmp_path / f"c{i}"
        chunk.mkdir()
        rows = [{"id": cid, "verdict": "useful", "chunk": i} for cid in half] + ([{"id": ids[0], "verdict": "refused", "chunk": i}] if i else [])
        (chunk / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
        entry = {"backend": "embedded", "when": f"2026-12-07T0{i}:00:00+00:00", "peak_rss_mb": rss, "retrieval": [],
                 "load1": {"before": load, "max": load + 1, "after": load}}
        (chunk / "entry.json").write_text(json.dumps(entry))
    run = assemble(cases, [tmp_path / "c0", tmp_path / "c1"])
    assert [r["id"] for r in run["rows"]] == ids
    assert run["rows"][0]["verdict"] == "refused", "a case asked again keeps its last row"
    assert run["peak_rss_mb"] == 2600 and run["load1"]["max"] == 4.0 and run["chunks"] == 2
    with pytest.raises(SystemExit, match="in no chunk"):
        assemble(cases, [tmp_path / "c0"])
    assert len(assemble(cases[:3], [tmp_path / "c0"])["rows"]) == 3, "a subset needs only its own cases"


def test_the_quote_bars_are_fitted_per_disowned_draft_and_judged_by_leave_one_out() -> None:
    """Declines on absent details reach 0.6-0.8 while declines the app should overrule reach 0.9+, and drafts
    that failed without declining are right to quote from 0.5: the `declined` policy separates them, its
    bars sit in the middle of the gaps, and leave-one-out keeps it over one bar for all."""
    from benchmarks.fit_overrule import choose, fit

    def row(kind: str, best: float, declined: bool, on: str) -> dict:
        off = "refused"
        return {"type": kind, "best": best, "detail": 1.0, "disowned": declined, "on": {"verdict": on}, "off": {"verdict": off}}

    rows = [row("absent_detail", b, True, "answered") for b in (0.6, 0.65, 0.7, 0.75, 0.8)]
    rows += [row("detail", b, True, "useful") for b in (0.9, 0.92, 0.95, 0.97)]
    rows += [row("paraphrase", b, False, "useful") for b in (0.5, 0.55, 0.6, 0.7, 0.8)]
    bars = fit("disowned", rows)
    assert bars["quote"] <= 0.5 and 0.8 < bars["overrule"] <= 0.9
    kept, chosen, report = choose(rows, {"quote": 0.56, "overrule": 0.74})
    assert "detail" in report and kept != "detail"
    assert kept == "disowned" and chosen == bars
    assert report["disowned"]["cv"]["score"] > report["one"]["cv"]["score"]
    assert report["disowned"]["dev"]["unanswerable_refused"] == 1.0 and report["disowned"]["dev"]["answerable_refused"] == 0.0
