"""Retrieval: fusion on hand-made rankings, rare terms on the seeds, date filters, diversity, seed questions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.errors import InputError
from assistant.evaluate import evaluate_questions, load_seed_questions
from assistant.papers import Paper, make_paper_id
from assistant.periods import parse_day, week_bounds
from assistant.retrieve import convex_fuse, fuse, minmax, mmr, smooth
from assistant.service import Assistant
from assistant.store import KEYWORD_ANALYZER, KeywordIndex, keyword_text
from assistant.store.keywords import fold, joined_names, pair_texts
from tests.conftest import make_settings


# --------------------------------------------------------------------------- fusion, by hand
def test_rrf_adds_weighted_reciprocal_ranks() -> None:
    scores = fuse([["a", "b", "c"], ["b", "d"]], [0.5, 0.5], k=10)
    assert scores["a"] == pytest.approx(0.5 / 11)
    assert scores["b"] == pytest.approx(0.5 / 12 + 0.5 / 11)
    assert scores["d"] == pytest.approx(0.5 / 12)
    assert max(scores, key=scores.__getitem__) == "b"  # in both lists beats first in one
    only_first = fuse([["a", "b"], ["b", "a"]], [1.0, 0.0], k=60)
    assert only_first["a"] > only_first["b"]


def test_minmax_edges() -> None:
    assert minmax({}) == {}
    assert minmax({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}
    assert minmax({"a": 2.0, "b": 4.0, "c": 3.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}


def test_convex_fusion_keeps_score_margins_that_rrf_throws_away() -> None:
    # BM25: an exact acronym match far ahead of the rest; dense missed it (flat, uninformative cosines).
    bm25 = {"acronym": 12.0, "x": 3.1, "y": 3.0, "z": 2.9}
    dense = {"x": 0.61, "y": 0.60, "z": 0.59, "w": 0.58}
    convex = convex_fuse(bm25, dense, 0.3)
    assert max(convex, key=convex.__getitem__) == "acronym"
    assert convex["acronym"] == pytest.approx(0.3 * 1.0 + 0.7 * 0.58)  # missing on dense = that list's lowest cosine
    assert convex["w"] == pytest.approx(0.7 * 0.58)  # missing on BM25 = no term matched = 0
    assert convex["x"] == pytest.approx(0.3 * 3.1 / 12 + 0.7 * 0.61)
    rrf = fuse([sorted(bm25, key=lambda d: -bm25[d]), sorted(dense, key=lambda d: -dense[d])], [0.5, 0.5], k=60)
    assert max(rrf, key=rrf.__getitem__) != "acronym"  # rank fusion lets papers in both lists win


def test_convex_weights_move_between_retrievers_and_edges() -> None:
    bm25 = {"a": 10.0, "b": 0.0}
    dense = {"a": 0.1, "b": 0.9}
    keyword_heavy = convex_fuse(bm25, dense, 0.8)
    dense_heavy = convex_fuse(bm25, dense, 0.2)
    assert max(keyword_heavy, key=keyword_heavy.__getitem__) == "a"
    assert max(dense_heavy, key=dense_heavy.__getitem__) == "b"
    assert convex_fuse({}, {"a": 0.5}, 0.3) == {"a": pytest.approx(0.35)}  # no term matched: dense alone decides
    assert convex_fuse({"a": 2.0}, {}, 0.3) == {"a": pytest.approx(0.3)}
    assert convex_fuse({}, {}, 0.3) == {}


def test_mmr_pushes_near_duplicates_down() -> None:
    e = np.eye(4, dtype=np.float32)
    dup = (e[0] + 0.05 * e[1]) / np.linalg.norm(e[0] + 0.05 * e[1])
    vectors = {"a": e[0], "a2": dup, "b": e[2], "c": e[3]}
    relevance = {"a": 1.0, "a2": 0.95, "b": 0.8, "c": 0.7}
    ranked = ["a", "a2", "b", "c"]
    assert mmr(ranked, relevance, vectors, 3, lam=1.0, duplicate=1.1) == ["a", "a2", "b"]  # plain relevance
    assert mmr(ranked, relevance, vectors, 3, lam=1.0) == ["a", "b", "c"]  # near-duplicate deferred
    assert mmr(ranked, relevance, vectors, 4, lam=1.0) == ["a", "b", "c", "a2"]  # ...unless nothing else is left
    far = {"a": e[0], "a2": (e[0] + e[1]) / np.sqrt(2), "b": e[2], "c": e[3]}  # a2 similar (0.71), not a duplicate
    assert mmr(ranked, relevance, far, 3, lam=0.9) == ["a", "a2", "b"]
    assert mmr(ranked, relevance, far, 3, lam=0.3) == ["a", "b", "c"]
    assert mmr(ranked, relevance, {}, 2, lam=0.5) == ["a", "a2"]  # no vectors: relevance order


def test_keyword_text_joins_hyphenated_names() -> None:
    assert keyword_text("LiDAR-PTQ for detectors").endswith(" LiDARPTQ")
    assert "MobileAgentv2" in keyword_text("Mobile-Agent-v2 taps through apps")
    assert keyword_text("no compounds here") == "no compounds here"


def test_keyword_analysis_adds_capitalised_acronyms_and_word_pairs_within_a_phrase() -> None:
    tokens = KeywordIndex.tokenize(["We improve CLIP with LLMs. Consistency models, fast."])[0]
    assert {"clip", "^clip", "^llm", "consist+model"} <= set(tokens)
    assert "llms+consist" not in tokens and "model+fast" not in tokens  # no pair across "." or ", "
    assert KeywordIndex.words(["We improve CLIP with LLMs."]) == [["we", "improv", "clip", "llms"]]
    assert "^clip" not in KeywordIndex.tokenize(["PPO clips the ratio"])[0]


def test_capitalised_acronym_and_exact_phrase_outrank_the_same_words_apart() -> None:
    papers = {
        "ppo": "Proximal policy optimisation: we clip the ratio to improve stability; the clip range matters.",
        "clip": "Long-text CLIP: we extend CLIP to long captions and find it works better.",
        "apart": "Image generation models: a consistency check for generation of images with diffusion models.",
        "phrase": "Improved consistency models for image generation in one step.",
    }
    kw = KeywordIndex.build(list(papers), list(papers.values()))
    assert kw.search("which papers improve CLIP", 2)[0][0] == "clip"
    assert kw.search("consistency models for image generation", 2)[0][0] == "phrase"
    assert kw.scores_for("improve CLIP", ["ppo", "clip", "nope"]).keys() == {"ppo", "clip"}


def test_a_name_typed_without_its_diacritics_finds_the_paper_that_writes_them() -> None:
    papers = {
        "tulu": "TÜLU 3: Pushing Frontiers in Open Language Model Post-Training. We release Tülu 3 and its recipe.",
        "other": "Open language model post-training recipes compared on many benchmarks.",
    }
    kw = KeywordIndex.build(list(papers), list(papers.values()))
    assert kw.search("tulu 3 recipe", 2)[0][0] == "tulu"
    assert [p for p, _ in kw.search("Tülu", 2)] == [p for p, _ in kw.search("tulu", 2)] == ["tulu"]
    assert fold("Schrödinger, Tülu, naïve; ß and ø stay") == "Schrodinger, Tulu, naive; ß and ø stay"


def test_a_name_typed_apart_finds_the_paper_that_writes_it_as_one_word() -> None:
    papers = {
        "easyref": "EasyRef: group image reference for diffusion models. EasyRef conditions on many images.",
        "simmatch": "SimMatchV2: semi-supervised learning with graph consistency.",
        "easy": "An easy reference point for diffusion model evaluation: easy cases, reference images.",
        "merge": "Model merging of fine-tuned models without training data.",
    }
    kw = KeywordIndex.build(list(papers), list(papers.values()))
    assert "easyref" in kw.query_tokens("easy ref diffusion benchmark")
    assert kw.search("easy ref diffusion", 3)[0][0] == "easyref"
    assert kw.search("simmatch v2 consistency", 3)[0][0] == "simmatch"
    assert not {"modelmerg", "modelmerging"} & set(kw.query_tokens("model merging"))  # no paper writes it as one word
    # One reading of the pairs for search and the judge: the analyser's, within a phrase, no stop-word pairs.
    pairs = joined_names(KeywordIndex.words(pair_texts("simmatch v2, how many of the")))
    assert pairs[0] == ("simmatchv2", {"simmatch", "v2"}) and [w for w, _ in pairs] == ["simmatchv2", "howmani", "manyof"]
    assert joined_names(kw.term_weights(pair_texts("easy ref"))) == [("easyref", {"easi", "ref"})]


def test_a_lower_case_word_reads_as_the_acronym_only_where_the_papers_mostly_capitalise_it() -> None:
    papers = {
        "dpo": "We align models with DPO, a preference objective; DPO needs no reward model.",
        "dpo2": "A DPO variant with a length penalty.",
        "rl": "Reinforcement learning from human feedback with a reward model and PPO.",
        "clip1": "Gradient clip thresholds for stable training: we clip the update norm.",
        "clip2": "We clip rewards to a range and study the clip value.",
        "clip3": "CLIP features for segmentation.",
    }
    kw = KeywordIndex.build(list(papers), list(papers.values()))
    assert "^dpo" in kw.query_tokens("dpo vs ppo for rlhf")  # both papers with "dpo" write DPO
    assert "^clip" not in kw.query_tokens("how do they clip gradients")  # 1 of 3 papers: a word here
    assert "^reward" not in kw.query_tokens("reward model") and "^with" not in kw.query_tokens("with dpo")
    assert kw.search("dpo", 3)[0][0] in {"dpo", "dpo2"}


def test_document_frequencies_read_from_the_index_are_plain_counts(tmp_path: Path) -> None:
    """`KeywordIndex._df` reads bm25s's internal score matrix: a bm25s upgrade that changes it fails here,
    before term rarities (the answer judge's signal) and acronym reading silently go wrong. Saved and loaded too."""
    texts = [
        "DPO aligns models; DPO needs no reward model.",
        "A reward model trained with PPO from human feedback.",
        "Gradient clipping for stable training of large models.",
        "Sparse attention for long documents.",
    ]
    built = KeywordIndex.build([f"p{i}" for i in range(len(texts))], texts)
    built.save(tmp_path / "kw")
    tokens = KeywordIndex.tokenize(texts)
    for kw in (built, KeywordIndex.load(tmp_path / "kw")):
        for token in {t for doc in tokens for t in doc} | {"unseen"}:
            assert kw._df(token) == sum(token in doc for doc in tokens), token
        (weights,) = kw.term_weights(["reward model sparse"])
        assert weights["model"] < weights["reward"] < weights["spars"] < 1.0


def test_dates_and_weeks_are_validated() -> None:
    assert parse_day("2025-06-02", "--since") == "2025-06-02"
    assert parse_day(None, "--since") is None
    with pytest.raises(InputError, match="--since"):
        parse_day("June 2", "--since")
    assert week_bounds("2024-W23") == ("2024-06-03", "2024-06-09")
    with pytest.raises(InputError, match="ISO week"):
        week_bounds("2024-23")


# --------------------------------------------------------------------------- the seed store
@pytest.fixture(scope="module")
def seeds(seeded_dir: Path) -> Assistant:
    return Assistant(make_settings(seeded_dir))


TITLES = {
    "NLHF": "Accelerating Nash Learning from Human Feedback via Mirror Prox",
    "AdaWAC": "Adaptively Weighted Data Augmentation Consistency Regularization for Robust Optimization under Concept Shift",
    "LiDAR-PTQ": "LiDAR-PTQ: Post-Training Quantization for Point Cloud 3D Object Detection",
    "LiDARPTQ": "LiDAR-PTQ: Post-Training Quantization for Point Cloud 3D Object Detection",
    "Mobile-Agent-v2": "Mobile-Agent-v2: Mobile Device Operation Assistant with Effective Navigation via Multi-Agent Collaboration",
    "ShrinkMatch": "Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning",
}


@pytest.mark.parametrize("mode", ["hybrid", "bm25"])
@pytest.mark.parametrize("query", sorted(TITLES))
def test_rare_terms_and_acronyms_find_their_paper_first(seeds: Assistant, query: str, mode: str) -> None:
    hits = seeds.search(query, k=5, mode=mode)  # type: ignore[arg-type]
    assert hits and hits[0].paper.paper_id == make_paper_id(TITLES[query])


def test_results_are_one_per_paper_best_first(seeds: Assistant) -> None:
    for mode in ("hybrid", "bm25", "dense"):
        hits = seeds.search("post-training quantization of large language models", k=10, mode=mode)  # type: ignore[arg-type]
        ids = [h.paper.paper_id for h in hits]
        assert len(ids) == 10 and len(set(ids)) == 10
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert seeds.search("post-training quantization", k=3)[0].passages  # dense passages come along


def test_seed_questions_reach_the_target_and_hybrid_beats_both(seeds: Assistant) -> None:
    questions = load_seed_questions()
    assert len(questions) >= 30
    stored = {p.paper_id for p in seeds.store.iter_papers()}
    assert all(pid in stored for q in questions for pid in q["expected"])  # type: ignore[union-attr]
    result = evaluate_questions(seeds.retriever, questions)
    assert result["hybrid"]["recall@5"] >= 0.9
    for single in ("bm25", "dense"):
        assert result["hybrid"]["recall@5"] >= result[single]["recall@5"]  # type: ignore[operator]
        assert result["hybrid"]["recall@1"] >= result[single]["recall@1"]  # type: ignore[operator]


def test_empty_query_and_unknown_mode_are_input_errors(seeds: Assistant) -> None:
    with pytest.raises(InputError, match="empty"):
        seeds.search("   ")
    with pytest.raises(InputError, match="mode"):
        seeds.search("pruning", mode="sparse")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- date filters
def _dates(app: Assistant) -> list[str]:
    return sorted({d for p in app.store.iter_papers() for d in p.dates})


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_date_filter_keeps_only_papers_listed_in_range(seeds: Assistant, mode: str) -> None:
    dates = _dates(seeds)
    since, until = dates[1], dates[3]
    hits = seeds.search("sparse training of neural networks", k=30, since=since, until=until, mode=mode)  # type: ignore[arg-type]
    assert hits
    assert all(any(since <= d <= until for d in h.paper.dates) for h in hits)
    allowed = seeds.store.ids_between(since, until)
    assert len(hits) == min(30, len(allowed)) if mode != "bm25" else len(hits) <= len(allowed)


def test_open_ended_and_empty_ranges(seeds: Assistant) -> None:
    last = _dates(seeds)[-1]
    hits = seeds.search("learning", k=50, since=last)
    assert hits and all(last in h.paper.dates for h in hits)
    assert seeds.search("learning", k=5, until="1999-01-01") == []
    week = week_bounds("2025-W11")
    for h in seeds.search("learning", k=50, since=week[0], until=week[1]):
        assert any(week[0] <= d <= week[1] for d in h.paper.dates)


def test_exact_and_overfetch_dense_paths_agree(seeded_dir: Path) -> None:
    """Small filtered sets are scored exactly by chunk id; large ones over-fetch from HNSW: same answer here."""
    dates = _dates(Assistant(make_settings(seeded_dir)))
    since, until = dates[0], dates[len(dates) // 2]
    exact = Assistant(make_settings(seeded_dir))
    overfetch = Assistant(make_settings(seeded_dir, exact_dense_limit=0))
    q = "consistency regularization for semi-supervised segmentation"
    a = [h.paper.paper_id for h in exact.search(q, k=5, since=since, until=until, mode="dense")]
    b = [h.paper.paper_id for h in overfetch.search(q, k=5, since=since, until=until, mode="dense")]
    assert a == b and len(a) == 5


@pytest.mark.parametrize("filtered", [False, True])
def test_keyword_only_candidates_are_fused_with_their_own_cosine(seeded_dir: Path, filtered: bool) -> None:
    """A paper only the keyword side returned is scored with its best chunk's cosine, not the dense list's floor
    (unfiltered: read by chunk id; date-filtered: the exact dense path's own cosines)."""
    app = Assistant(make_settings(seeded_dir, candidates=10, smooth_weight=0))  # the fused scores themselves
    r = app.retriever
    dates = _dates(app)
    since, until = (dates[0], dates[0]) if filtered else (None, None)  # one day: the exact dense path
    allowed = app.store.ids_between(since, until) if filtered else None
    query = "sparsity for large language models"
    vector = r.embed([query])[0]
    dense = r.dense(query, 10, allowed, vector=vector).scores
    bm25 = r.keyword(query, 10, allowed)
    keyword_only = [p for p in bm25 if p not in dense]
    assert keyword_only  # the two sides disagree on this query
    exact = r.cosines(vector, keyword_only)
    top, w = max(bm25.values()), app.settings.bm25_weight
    scored = {h.paper.paper_id: h.score for h in r.search(query, k=10, since=since, until=until)}
    assert set(scored) & set(keyword_only)
    for pid in set(scored) & set(keyword_only):
        assert scored[pid] == pytest.approx(w * bm25[pid] / top + (1 - w) * exact[pid], abs=1e-5)


# --------------------------------------------------------------------------- smoothing over neighbours
def _unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_smoothing_lifts_a_paper_among_relevant_neighbours_and_lowers_none() -> None:
    # "synonym" states the topic in other words (lower fused score) but resembles the two relevant papers;
    # "word" shares a query word (higher fused score) but resembles two unrelated papers.
    scores = {"rel1": 0.80, "rel2": 0.78, "word": 0.55, "synonym": 0.50, "off1": 0.30, "off2": 0.28}
    vectors = {
        "rel1": _unit(1, 0.1, 0), "rel2": _unit(1, 0, 0.1), "synonym": _unit(0.9, 0.2, 0.1),
        "word": _unit(0, 1, 0.1), "off1": _unit(0.1, 1, 0), "off2": _unit(0, 1, 0.2),
    }
    ranked = sorted(scores, key=lambda d: -scores[d])
    out = smooth(ranked, scores, vectors, 0.2, 2)
    assert out["synonym"] > out["word"]
    assert out["synonym"] == pytest.approx(0.8 * 0.50 + 0.2 * (0.80 + 0.78) / 2)
    assert out["word"] == 0.55  # lift only: a paper unlike the others (the one a question names) keeps its score
    assert out["rel1"] == 0.80 and out["off2"] == pytest.approx(0.8 * 0.28 + 0.2 * (0.30 + 0.55) / 2)
    assert smooth(ranked, scores, vectors, 0.0, 2) == scores  # weight 0: off
    partial = smooth(ranked, scores, {k: v for k, v in vectors.items() if k != "word"}, 0.2, 2)
    assert partial["word"] == 0.55  # no vector: keeps its own score, and is nobody's neighbour
    assert partial["synonym"] == pytest.approx(0.8 * 0.50 + 0.2 * (0.80 + 0.78) / 2)
    assert smooth(["a"], {"a": 0.4}, {"a": _unit(1, 0, 0)}, 0.2, 3) == {"a": 0.4}  # nothing to smooth with


def test_hybrid_search_ranks_by_the_smoothed_scores(seeded_dir: Path) -> None:
    """Search's hit scores are its fused scores smoothed over the head's paper vectors, best first (with the
    setting at 0 they are the fused scores themselves)."""
    query = "sparsity for large language models"
    plain = Assistant(make_settings(seeded_dir, smooth_weight=0)).retriever
    smoothed = Assistant(make_settings(seeded_dir)).retriever
    s = smoothed.settings
    fused = {h.paper.paper_id: h.score for h in plain.search(query, k=s.candidates)}
    head = list(fused)[: s.smooth_pool]
    want = smooth(head, fused, plain.paper_vectors(head), s.smooth_weight, s.smooth_neighbours)
    hits = smoothed.search(query, k=10)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.paper.paper_id for h in hits] == sorted(want, key=lambda p: (-want[p], p))[:10]
    for h in hits:
        assert h.score == pytest.approx(want[h.paper.paper_id], abs=1e-5)
        assert h.relevance == pytest.approx(fused[h.paper.paper_id], abs=1e-5)  # the query's own score, unlifted
    assert any(abs(h.score - fused[h.paper.paper_id]) > 1e-4 for h in hits)


# --------------------------------------------------------------------------- diversity
def _paper(title: str, abstract: str) -> Paper:
    return Paper(paper_id=make_paper_id(title), title=title, abstract=abstract, dates=["2025-06-02"])


def test_diverse_search_keeps_near_duplicates_from_crowding_out_others(settings) -> None:  # type: ignore[no-untyped-def]
    base = (
        "We prune large language models to 50% unstructured sparsity in one shot without retraining, "
        "using second-order weight reconstruction layer by layer."
    )
    papers = [
        _paper("One-shot pruning of LLMs", base),
        _paper("One-shot pruning of LLMs (v2)", base + " Code is available."),
        _paper("One-shot pruning of LLMs, revisited", base.replace("We prune", "This paper prunes")),
        _paper("Structured pruning removes attention heads", "We prune attention heads and MLP channels of language models, then briefly retrain."),
        _paper("Pruning by weight magnitude and activations", "A pruning metric for language models that multiplies weight magnitude by input activation norms."),
        _paper("Cooking pasta", "A recipe for tomato sauce."),
    ]
    app = Assistant(settings)
    app.ingest_papers(papers, progress=False)
    dup_ids = {p.paper_id for p in papers[:3]}
    query = "pruning large language models without retraining"
    plain = [h.paper.paper_id for h in app.retriever.search(query, k=3)]
    diverse = [h.paper.paper_id for h in app.retriever.search(query, k=3, diverse=True)]
    assert len(set(plain) & dup_ids) >= 2
    assert len(set(diverse) & dup_ids) == 1
    assert diverse[0] == plain[0]  # the best match stays first
    assert len(set(diverse)) == 3


# --------------------------------------------------------------------------- the keyword index
def test_index_saved_by_another_analyzer_is_rebuilt(settings) -> None:  # type: ignore[no-untyped-def]
    app = Assistant(settings)
    app.ingest_papers([_paper("LiDAR-PTQ study", "Post-training quantization of LiDAR-PTQ detectors.")], progress=False)
    marker = Path(settings.data_dir) / "bm25" / "analyzer"
    assert marker.read_text() == KEYWORD_ANALYZER
    marker.write_text("old")
    fresh = Assistant(settings)
    assert [pid for pid, _ in fresh.store.keyword_index().search("LiDARPTQ", 3)] == [make_paper_id("LiDAR-PTQ study")]
    assert marker.read_text() == KEYWORD_ANALYZER


# --------------------------------------------------------------------------- `assistant eval`
def _tiny_beir(root: Path) -> Path:
    import json

    docs = {
        "10": ("Statins lower cholesterol", "Statin therapy reduces LDL cholesterol and cardiovascular events in adults."),
        "20": ("Vitamin D and bone density", "Vitamin D supplements did not change bone mineral density in older women."),
        "30": ("Gut microbiome and obesity", "Germ-free mice colonised with microbiota from obese donors gained more fat."),
        "40": ("Aspirin and colorectal cancer", "Daily aspirin lowered the long-term incidence of colorectal cancer."),
    }
    (root / "qrels").mkdir(parents=True)
    with (root / "corpus.jsonl").open("w") as fh:
        for did, (title, text) in docs.items():
            fh.write(json.dumps({"_id": did, "title": title, "text": text, "metadata": {}}) + "\n")
    queries = {"1": "Statins reduce LDL cholesterol.", "2": "Aspirin prevents colorectal cancer.", "3": "unused train claim"}
    with (root / "queries.jsonl").open("w") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text, "metadata": {"10": [{"sentences": [0]}]}}) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\n1\t10\t1\n2\t40\t1\n")
    return root


def test_eval_command_scores_each_retriever_in_its_own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from assistant.cli import cli

    data = _tiny_beir(tmp_path / "beir")
    user_dir = tmp_path / "data"
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(user_dir))
    monkeypatch.chdir(tmp_path)
    out_md = tmp_path / "table.md"
    result = CliRunner().invoke(cli, ["eval", "scifact", "--data", str(data), "--json", "--out", str(out_md)], obj={})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (doc["queries"], doc["docs"], doc["index"]["built"]) == (2, 4, True)
    assert set(doc["results"]) == {"bm25", "dense", "hybrid"}
    assert doc["results"]["hybrid"]["nDCG@10"] == 1.0 and doc["results"]["hybrid"]["R@100"] == 1.0
    assert (user_dir / "eval-scifact" / "papers.sqlite").exists()
    assert not (user_dir / "papers.sqlite").exists()  # the user's own store is never touched
    assert "| hybrid | 1.0 | 1.0 |" in out_md.read_text()
    again = CliRunner().invoke(cli, ["eval", "scifact", "--data", str(data), "--json", "--mode", "bm25"], obj={})
    doc2 = json.loads(again.stdout)
    assert doc2["index"]["built"] is False and set(doc2["results"]) == {"bm25"}
    missing = CliRunner().invoke(cli, ["eval", "scifact", "--data", str(tmp_path)], obj={})
    assert missing.exit_code == 2 and "not a BEIR dataset" in missing.stderr
