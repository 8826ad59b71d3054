"""Weekly digests: periods (ISO weeks across a year end, `last`), topic groups, cited summaries,
new vs last week, caching and resuming, the CLI; one slow test with the packaged local model."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.chains.clustering import (
    OTHER_BELOW,
    adjusted_rand,
    centred,
    choose_k,
    closeness,
    cluster,
    k_range,
    normalize_rows,
    relative_closeness,
    settle,
    stability,
)
from assistant.chains.topic_labels import group_keywords, group_titles, is_theme, parse_topic_reply, themes, vague
from assistant.chains.digest import highlights
from assistant.citations import parse_citations
from assistant.cli import cli
from assistant.errors import InputError, LLMError
from assistant.export import render
from assistant.papers import Paper
from assistant.periods import Period, available_weeks, resolve_period, week_bounds
from assistant.service import Assistant
from digest_fakes import (
    PromptFake, app_for, corpus_papers, ingested_store, planted_topic, private_copy, respond, respond_messages, topic_paper,
)
from fake_openai import FakeOpenAI
from tests.conftest import make_settings

WEEK = "2024-W01"
THIS_WEEK_IDS = {p.paper_id for p in corpus_papers() if p.dates[0].startswith("2024-01-0") and p.dates[0] != "2024-01-08"}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingested_store(tmp_path_factory.mktemp("digest-corpus"))


@pytest.fixture
def corpus(corpus_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the planted corpus (tests write caches into it)."""
    return private_copy(corpus_dir, tmp_path / "corpus")


def _comparable(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k != "model_calls"}


# ---------------------------------------------------------------------------- periods


def test_iso_week_boundaries_across_year_ends() -> None:
    assert week_bounds("2024-W01") == ("2024-01-01", "2024-01-07")  # 1 Jan 2024 is a Monday
    assert week_bounds("2025-W01") == ("2024-12-30", "2025-01-05")  # W01 starts in the previous year
    assert week_bounds("2020-W53") == ("2020-12-28", "2021-01-03")
    assert week_bounds("2026-W53") == ("2026-12-28", "2027-01-03")  # 2026 starts on a Thursday
    assert week_bounds("2026-w53") == ("2026-12-28", "2027-01-03")
    with pytest.raises(InputError):
        week_bounds("2021-W53")  # 2021 has 52 weeks
    with pytest.raises(InputError):
        week_bounds("2024-23")

    p = resolve_period(None, week="2024-W01")  # type: ignore[arg-type]
    assert (p.since, p.until, p.week, p.label) == ("2024-01-01", "2024-01-07", "2024-W01", "2024-W01")
    assert p.previous() == Period("2023-12-25", "2023-12-31", "2023-W52")
    assert resolve_period(None, week="2021-W01").previous().week == "2020-W53"  # type: ignore[arg-type]
    assert resolve_period(None, week="2027-W01").previous().week == "2026-W53"  # type: ignore[arg-type]

    r = resolve_period(None, since="2024-01-02", until="2024-01-04")  # type: ignore[arg-type]
    assert (r.week, r.label) == (None, "2024-01-02/2024-01-04")
    assert r.previous() == Period("2023-12-30", "2024-01-01")
    assert resolve_period(None, since="2024-01-01", until="2024-01-07").week == "2024-W01"  # type: ignore[arg-type]
    for kwargs in ({"since": "2024-01-05", "until": "2024-01-01"}, {"week": WEEK, "since": "2024-01-01"}, {}):
        with pytest.raises(InputError):
            resolve_period(None, **kwargs)  # type: ignore[arg-type]


def test_digest_takes_exactly_the_papers_listed_in_the_week(corpus: Path) -> None:
    d = app_for(corpus).digest(week=WEEK)
    listed = {p.paper_id for t in d.topics for p in t.papers}
    assert listed == THIS_WEEK_IDS
    assert "2312.00105" not in listed  # Sunday 2023-12-31 belongs to 2023-W52
    assert "2402.00304" not in listed  # Monday 2024-01-08 belongs to 2024-W02
    sunday = app_for(corpus).digest(since="2023-12-31", until="2023-12-31")
    assert [p.paper_id for t in sunday.topics for p in t.papers] == ["2312.00105"]


def test_week_last_is_the_complete_week_before_this_one(corpus: Path, tmp_path: Path) -> None:
    store = app_for(corpus).store
    assert resolve_period(store, week="last", today=date(2024, 1, 10)).week == "2024-W01"  # mid W02
    assert resolve_period(store, week="last", today=date(2024, 1, 15)).week == "2024-W02"  # Monday of W03
    assert resolve_period(store, week="last", today=date(2024, 1, 2)).week == "2023-W52"
    with pytest.raises(InputError, match="2030-W21.*assistant fetch --week last.*--week 2024-W02"):
        resolve_period(store, week="LAST", today=date(2030, 6, 1))  # a store no longer fed: say so, name the newest week
    assert available_weeks(store) == ["2024-W02", "2024-W01", "2023-W52", "2023-W51"]
    with pytest.raises(InputError, match="no papers"):
        resolve_period(app_for(tmp_path / "empty").store, week="last")


# ---------------------------------------------------------------------------- topics


def test_grouping_covers_every_paper_once_and_recovers_planted_topics(corpus: Path) -> None:
    d = app_for(corpus).digest(week=WEEK)
    assert d.n_papers == len(THIS_WEEK_IDS) == 15
    listed = [p.paper_id for t in d.topics for p in t.papers]
    assert sorted(listed) == sorted(THIS_WEEK_IDS)  # every paper exactly once
    assert sorted(p.n for t in d.topics for p in t.papers) == list(range(1, 16))
    in_topics = sum(len(t.papers) for t in d.topics if not t.other)
    assert in_topics / d.n_papers >= 0.95
    real = [t for t in d.topics if not t.other]
    assert len(real) == 3  # the topic count the data shows, not a fixed formula
    for topic in real:
        assert len({planted_topic(p.paper_id) for p in topic.papers}) == 1, topic.title
        assert topic.title and topic.keywords


def test_every_summary_sentence_cites_papers_of_its_own_group(corpus: Path) -> None:
    fake = PromptFake()
    d = app_for(corpus, fake).digest(week=WEEK)
    for topic in (t for t in d.topics if not t.other):
        group = {p.n for p in topic.papers}
        assert 1 <= len(topic.sentences) <= 3
        for s in topic.sentences:
            assert s.cites and set(s.cites) <= group, (topic.title, s)
            assert set(parse_citations(s.text)) <= group
            assert s.supported  # the fake only restates its notes
        assert {c.n for c in topic.citations} <= group
        assert all(c.supported for c in topic.citations)
    # each compose prompt saw only its own group's papers
    topic_prompts = [p for p in fake.prompts if "Topic line" in p]
    assert len(topic_prompts) == 3
    for prompt in topic_prompts:
        assert len({planted_topic(pid) for pid in THIS_WEEK_IDS if _title_of(pid) in prompt}) == 1


def _title_of(paper_id: str) -> str:
    return next(p.title for p in corpus_papers() if p.paper_id == paper_id)


def test_unsupported_sentences_are_dropped_and_a_summary_never_rests_on_them(
    corpus: Path, corpus_dir: Path, tmp_path: Path
) -> None:
    def partly_made_up(prompt: str) -> str:
        if "Topic line" not in prompt:
            return respond(prompt)
        good = respond(prompt).splitlines()[1]
        return f"Topic: Made up\nThese methods reach 99.7% top-1 accuracy on ImageNet-21k [1]. {good}"

    d = app_for(corpus, PromptFake(responder=partly_made_up)).digest(week=WEEK)
    topic = d.topics[0]
    assert not any("ImageNet" in s.text for s in topic.sentences)  # dropped, not shown with a mark
    assert topic.sentences and all(s.supported for s in topic.sentences) and not topic.fallback, [d.text for d in topic.dropped]
    assert "\u26a0" not in topic.summary and "ImageNet" not in render(d, "md") + render(d, "html")
    dropped = d.to_json()["topics"][0]["dropped"]  # type: ignore[index]
    assert any("ImageNet" in x["text"] and x["reason"] for x in dropped)

    def all_made_up(prompt: str) -> str:
        if "Topic line" not in prompt:
            return respond(prompt)
        return "Topic: Nonsense\nThey all solve protein folding with 12 GPUs [1]. It beats GPT-5 by 40% [2]."

    fresh = tmp_path / "fresh"  # injected fakes share one model label, hence one cache: start clean
    private_copy(corpus_dir, fresh)
    d = app_for(fresh, PromptFake(responder=all_made_up)).digest(week=WEEK)
    for topic in (t for t in d.topics if not t.other):
        assert topic.fallback  # the app quoted the papers instead
        assert topic.sentences and all(s.supported and s.cites for s in topic.sentences)
        assert "protein" not in topic.summary


def test_new_vs_last_week(corpus: Path) -> None:
    d = app_for(corpus).digest(week=WEEK)
    change = d.new_vs_last_week
    assert change is not None
    assert (change.previous, change.previous_papers) == ("2023-W52", 7)
    by_topic = {planted_topic(t.papers[0].paper_id): t for t in d.topics if not t.other}
    assert by_topic["robots"].status == "new" and by_topic["robots"].title in change.appeared
    assert by_topic["reasoning"].status == "grew"
    assert [g.title for g in change.grew] == [by_topic["reasoning"].title]
    grew = change.grew[0]
    assert (grew.last_week, grew.this_week) == (1, 6)
    assert by_topic["video"].status == "steady"
    doc = d.to_json()["new_vs_last_week"]
    assert isinstance(doc, dict) and doc["appeared"] == [by_topic["robots"].title]

    first = app_for(corpus).digest(week="2023-W51")  # nothing stored the week before
    assert first.new_vs_last_week is not None and first.new_vs_last_week.previous_papers == 0
    assert all(t.status == "unknown" for t in first.topics)


def test_top_upvoted_and_json_contract(corpus: Path) -> None:
    doc = app_for(corpus).digest(week=WEEK).to_json()
    assert {"week", "papers", "topics", "new_vs_last_week"} <= set(doc)
    assert doc["week"] == WEEK and doc["papers"] == 15
    for topic in doc["topics"]:  # type: ignore[union-attr]
        assert {"title", "summary", "citations"} <= set(topic)
        assert all({"n", "paper_id", "title", "supported"} <= set(c) for c in topic["citations"])
    votes = [p["upvotes"] for p in doc["top_upvoted"]]  # type: ignore[union-attr]
    assert votes == sorted(votes, reverse=True) and len(votes) == 5 and votes[0] == 15
    json.dumps(doc)


def test_empty_week_gives_an_empty_digest_in_every_format(corpus: Path) -> None:
    d = app_for(corpus).digest(week="2022-W10")
    assert d.n_papers == 0 and d.topics == []
    assert "No papers" in render(d, "md") and "No papers" in render(d, "html")
    assert json.loads(render(d, "json"))["papers"] == 0
    assert render(d, "bib") == ""


# ---------------------------------------------------------------------------- caching


def test_cache_reuse_second_digest_makes_no_model_call(corpus: Path) -> None:
    first_fake = PromptFake()
    first = app_for(corpus, first_fake).digest(week=WEEK)
    assert first_fake.calls == 15 + 3  # one extraction per paper, one compose per topic
    assert first.model_calls == 18 and first.extraction == "model"

    second_fake = PromptFake()
    second = app_for(corpus, second_fake).digest(week=WEEK)
    assert second_fake.calls == 0 and second.model_calls == 0
    assert _comparable(second.to_json()) == _comparable(first.to_json())


def test_interrupted_digest_resumes_from_cached_extractions(corpus: Path) -> None:
    with pytest.raises(LLMError, match="simulated connection drop"):
        app_for(corpus, PromptFake(fail_after=8)).digest(week=WEEK)  # 7 calls done, the 8th fails
    resumed = PromptFake()
    d = app_for(corpus, resumed).digest(week=WEEK)
    assert resumed.calls == 18 - 7
    assert d.n_papers == 15


def test_quick_mode_makes_one_call_per_topic_and_reuses_cached_extractions(corpus: Path) -> None:
    fake = PromptFake()
    d = app_for(corpus, fake).digest(week=WEEK, extract="quick")
    assert fake.calls == 3 and d.extraction == "quick"
    assert all("The four lines:" not in p for p in fake.prompts)
    with pytest.raises(InputError):
        app_for(corpus).digest(week=WEEK, extract="fast")


# ---------------------------------------------------------------------------- pieces


def _planted(groups: int, per: int, noise: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dims = np.eye(12, dtype=np.float32)
    return np.stack([dims[j] + noise * rng.standard_normal(12) for j in range(groups) for _ in range(per)]).astype(np.float32)


def test_cluster_picks_the_topic_count_from_the_data() -> None:
    for groups in (2, 4, 5):
        rows = _planted(groups, 9, 0.15)
        found, other = cluster(rows)
        assert len(found) == groups, groups  # (a planted topic's loosest members may be outliers: "Other")
        assert all(len({i // 9 for i in g}) == 1 for g in found)
    lo, hi = k_range(200)
    assert (lo, hi) == (7, 14) and k_range(5) == (1, 1) and choose_k(normalize_rows(_planted(1, 4, 0.1)))[0] == 1


def test_adjusted_rand_index() -> None:
    truth = np.array([0, 0, 0, 1, 1, 1])
    assert adjusted_rand(truth, truth) == 1.0 and adjusted_rand(truth, 5 - truth) == 1.0  # names do not matter
    assert abs(adjusted_rand(truth, np.array([0, 0, 1, 1, 2, 2])) - 0.8 / 3.3) < 1e-9  # worked by hand
    rng = np.random.default_rng(0)
    assert abs(adjusted_rand(rng.integers(0, 4, 2000), rng.integers(0, 4, 2000))) < 0.01  # chance agreement is ~0


def test_the_topic_count_is_the_one_subsamples_agree_on() -> None:
    """Five planted themes: split in five, every subsample finds the same groups; four or six cut a theme
    differently depending on which papers are left out."""
    x = centred(normalize_rows(_planted(5, 9, 0.3)))
    scores = {k: stability(x, k) for k in range(3, 8)}
    assert max(scores, key=lambda k: scores[k]) == 5, scores
    k, labels = choose_k(x)
    assert k == 5 and adjusted_rand(labels, np.repeat(np.arange(5), 9)) > 0.9


def _week_with_outsiders(outsiders: int) -> list[np.ndarray]:
    """Six tight themes of ten papers, then `outsiders` papers each unlike every theme."""
    rng = np.random.default_rng(0)
    dim = 384  # the packaged embedder's: the "Other" cut is calibrated on its vectors
    common = rng.standard_normal(dim)  # what every paper of a week shares
    themes = normalize_rows(rng.standard_normal((6, dim)))
    rows = [common + 3 * themes[j] + 0.1 * rng.standard_normal(dim) for j in range(6) for _ in range(10)]
    return rows + [common + 3 * normalize_rows(rng.standard_normal((1, dim)))[0] for _ in range(outsiders)]


def test_cluster_sends_a_paper_far_from_every_topic_to_other() -> None:
    rows = _week_with_outsiders(1)
    groups, other = cluster(np.stack(rows).astype(np.float32))
    assert other == [60] and len(groups) == 6
    assert all(len({i // 10 for i in g}) == 1 for g in groups)
    groups, other = cluster(np.stack(rows[:60]).astype(np.float32))  # no outlier: nobody in "Other"
    assert other == [] and sorted(i for g in groups for i in g) == list(range(60))

    groups, other = cluster(np.stack(rows[:5]).astype(np.float32))  # tiny week: no "Other" at all
    assert other == [] and sorted(i for g in groups for i in g) == list(range(5))
    assert cluster(np.zeros((0, 8), dtype=np.float32)) == ([], [])


def test_other_is_capped_at_a_share_of_the_week_unless_told_not_to_be() -> None:
    """Four outsiders in a week of 64: all leave under the digest's cap (20% of the week); a cap of 5% (3)
    keeps the nearest one in a topic; uncapped, all leave."""
    rows = np.stack(_week_with_outsiders(4)).astype(np.float32)
    groups, other = cluster(rows)
    assert other == list(range(60, 64)) and len(groups) == 6
    assert all(len({i // 10 for i in g}) == 1 for g in groups)
    groups, other = cluster(rows, max_other=0.05)
    assert len(other) == 3 and set(other) < set(range(60, 64))
    assert cluster(rows, max_other=None)[1] == list(range(60, 64))


def test_a_paper_is_judged_against_its_own_topics_typical_member() -> None:
    """A tight topic with one spread-out paper, and a loose topic: the paper is an outsider in its tight
    topic, while the loose topic keeps all its members, though the paper is closer to its topic than the
    loose topic's typical member is to theirs (an absolute cut could not tell them apart)."""
    rng = np.random.default_rng(3)
    dim = 384
    common = rng.standard_normal(dim)
    themes = normalize_rows(rng.standard_normal((3, dim)))

    def papers(theme: int, spread: float, count: int) -> list[np.ndarray]:
        return [common + 3 * themes[theme] + spread * rng.standard_normal(dim) for _ in range(count)]

    rows = [*papers(0, 0.05, 12), *papers(1, 0.05, 12), *papers(2, 0.22, 12), *papers(0, 0.3, 1)]
    x = centred(normalize_rows(np.stack(rows).astype(np.float32)))
    labels = np.array([0] * 12 + [1] * 12 + [2] * 12 + [0])
    near, rel = closeness(x, labels), relative_closeness(x, labels)
    assert near[36] > np.median(near[24:36])  # closer to its topic than the loose topic's typical member ...
    assert rel[36] < OTHER_BELOW < np.min(rel[:36])  # ... but far below its own topic's typical member
    groups, other = cluster(np.stack(rows).astype(np.float32), k=3)
    assert other == [36] and sorted(map(sorted, groups)) == [list(range(j, j + 12)) for j in (0, 12, 24)]


def test_fallback_titles_are_distinct_noun_phrases_not_lists() -> None:
    papers = corpus_papers()
    groups = [[p for p in papers if planted_topic(p.paper_id) == t] for t in ("video", "reasoning", "robots")]
    titles = group_titles(groups, papers)
    assert len(set(titles)) == 3
    assert all("," not in t and 1 <= len(t.split()) <= 2 and t[0].isupper() for t in titles), titles
    assert group_titles([groups[0], groups[0]], papers)[0] != group_titles([groups[0], groups[0]], papers)[1]


def test_keywords_name_the_planted_topics() -> None:
    papers = corpus_papers()[:15]
    groups = [[p for p in papers if planted_topic(p.paper_id) == t] for t in ("video", "reasoning", "robots")]
    words = group_keywords(groups, papers)
    named = [("video",), ("reasoning",), ("robot", "manipulation")]  # a theme term may be the longer phrase
    assert all(any(t in w for t in ts for w in ws) for ts, ws in zip(named, words)), words


def test_parse_topic_reply_variants() -> None:
    assert parse_topic_reply("Topic: Video diffusion\nA does x [1].") == ("Video diffusion", "A does x [1].")
    assert parse_topic_reply("**Topic:** \"Robot grasping\"\n\nSummary: B [2].") == ("Robot grasping", "B [2].")
    assert parse_topic_reply("A does x [1].") == (None, "A does x [1].")
    title, _ = parse_topic_reply("Topic: " + "very " * 12 + "long\nA [1].")
    assert title is None


# ---------------------------------------------------------------------------- CLI


def test_cli_digest_json_html_and_cache(corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(responder=respond_messages) as fake:
        monkeypatch.setenv("ASSISTANT_DATA_DIR", str(corpus))
        monkeypatch.setenv("ASSISTANT_LLM_BACKEND", "openai")
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
        monkeypatch.setenv("ASSISTANT_LLM_API_KEY", "sk-test-digest-key")
        run = CliRunner().invoke(cli, ["digest", "--week", WEEK, "--json"], obj={}, catch_exceptions=False)
        assert run.exit_code == 0, run.output
        doc = json.loads(run.stdout)
        assert doc["papers"] == 15 and len(doc["topics"]) == 3
        calls = len(fake.chat_requests)
        assert calls == 18

        out = tmp_path / "digest.html"
        run = CliRunner().invoke(
            cli, ["digest", "--week", WEEK, "--format", "html", "--out", str(out)], obj={}, catch_exceptions=False
        )
        assert run.exit_code == 0 and "wrote" in run.stdout
        assert out.read_text().startswith("<!DOCTYPE html>")
        assert len(fake.chat_requests) == calls  # all cached
        assert "sk-test-digest-key" not in out.read_text()

        bad = CliRunner().invoke(cli, ["digest", "--week", "2021-W53", "--json"], obj={})
        assert bad.exit_code == 2 and "ISO week" in bad.stderr
        clash = CliRunner().invoke(cli, ["digest", "--week", WEEK, "--json", "--format", "html"], obj={})
        assert clash.exit_code == 2


# ---------------------------------------------------------------------------- the real model


@pytest.mark.slow
def test_tiny_week_with_the_embedded_model(tmp_path: Path) -> None:
    """Three papers, the packaged local model: 3 extractions + 1 compose call (about a minute)."""
    # One thread and a long timeout: on a busy shared 2-core machine two llama.cpp threads spin
    # against other processes and a call can take minutes; this test checks behaviour, not speed.
    app = Assistant(make_settings(tmp_path / "data", llm_threads=1, llm_timeout=900.0))
    app.ingest_papers([topic_paper("video", i, "2024-01-02") for i in range(3)], progress=False)
    d = app.digest(week=WEEK, extract="model")
    assert d.model.startswith("embedded:") and d.model_calls == 4
    assert d.n_papers == 3 and sum(len(t.papers) for t in d.topics) == 3
    topic = d.topics[0]
    group = {p.n for p in topic.papers}
    assert topic.sentences and all(set(s.cites) <= group for s in topic.sentences)
    assert all(s.cites for s in topic.sentences if s.supported)
    from assistant.chains.extract import cached_extraction

    parsed = [cached_extraction(p, app.store, app.model_label) for p in app.store.get_papers(sorted(THIS_WEEK_IDS)).values()]
    filled = [e for e in parsed if e is not None and sum(bool(e.get(a)) for a in ("problem", "method", "result")) >= 2]
    assert len(filled) >= 2  # the model follows the four-line format
    again = app.digest(week=WEEK, extract="model")
    assert again.model_calls == 0
    app.close()


def test_highlights_by_upvotes_else_centrality_and_every_paper_links_to_arxiv(corpus: Path) -> None:
    d = app_for(corpus).digest(week=WEEK)
    assert d.highlights_by == "upvotes" and d.to_json()["highlights_by"] == "upvotes"
    votes = [p.upvotes or 0 for p in d.top_upvoted]
    assert len(votes) == 5 and votes == sorted(votes, reverse=True) and all(p.takeaway for p in d.top_upvoted)
    assert all(p.url == f"https://arxiv.org/abs/{p.paper_id}" for p in d.all_papers)
    md = render(d, "md")
    assert "## Highlights (most upvoted)" in md and "`t:" not in md

    unvoted = [p.model_copy(update={"upvotes": None}) for p in d.all_papers]
    central = [t.papers[-1].paper_id for t in d.topics if not t.other]
    chosen, by = highlights(unvoted, central)
    assert by == "centrality" and [p.paper_id for p in chosen] == central[:5]


def test_a_paper_far_from_a_loose_topics_members_is_placed_with_the_members_it_is_close_to() -> None:
    """A broad topic's short mean vector inflates the cosine to its centre (k-means' rule, power 1): a
    paper between a broad and a tight topic is closer on average to the tight topic's members."""
    dim = 24
    eye = np.eye(dim, dtype=np.float32)
    broad = [0.3 * eye[0] + 0.954 * eye[3 + k] for k in range(10)]  # spread around e0
    tight = [0.95 * eye[1] + 0.312 * eye[14 + k] for k in range(5)]  # close around e1
    between = 0.8 * eye[0] + 0.4 * eye[1] + 0.447 * eye[20]
    x = np.stack([*broad, *tight, between]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.array([0] * 10 + [1] * 5 + [0])
    assert settle(x, labels, power=1.0)[-1] == 0  # cosine to the centre: the broad topic
    assert settle(x, labels, power=0.0)[-1] == 1  # mean cosine to the members: the tight topic
    assert closeness(x, settle(x, labels, power=0.0))[-1] > closeness(x, labels)[-1]


def test_labels_use_theme_terms_not_verbs_adjectives_or_stock_phrases() -> None:
    assert not any(is_theme(t) for t in ("consider", "robust", "independent interest", "semi-supervised object", "mean absolute"))
    assert all(is_theme(t) for t in ("point clouds", "optical flow", "pruning", "approximation", "object detection"))
    assert vague("language") and not vague("pruning") and not vague("point clouds")
    assert themes(["consider", "sketching", "independent interest", "regression"]) == ["sketching", "regression"]
    theory = [
        Paper(paper_id=f"t{i}", title=f"Sketching bounds {i}",
              abstract="We consider sketching for regression, a question of independent interest. We consider robust sampling.")
        for i in range(4)
    ]
    rest = [Paper(paper_id=f"v{i}", title=f"Video model {i}", abstract="A video generation model.") for i in range(4)]
    words = group_keywords([theory, rest], theory + rest)
    assert words[0] and not {"consider", "robust", "independent interest"} & set(words[0]), words


def test_a_fallback_title_is_the_theme_most_titles_name_written_as_they_write_it() -> None:
    clip = [
        Paper(paper_id=f"c{i}", title=title, abstract="We align image-text pairs with contrastive training on image-text pairs.")
        for i, title in enumerate(["Long-CLIP: longer text for CLIP", "Improving CLIP's visual detail", "CLIP for remote sensing"])
    ]
    rest = [Paper(paper_id=f"v{i}", title=f"Video model {i}", abstract="A video generation model.") for i in range(3)]
    assert group_titles([clip, rest], clip + rest)[0] == "CLIP"
