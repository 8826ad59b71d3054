"""The topic benchmark's field measure: the arXiv-category classifier and the mixed-topic count (synthetic data)."""

from __future__ import annotations

import numpy as np

from benchmarks.topics_fields import FIELDS, FieldModel, confident_fields, cross_validate, topic_fields


def _fields_data(per_field: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(len(FIELDS), 16)
    y = np.repeat(np.arange(len(FIELDS)), per_field)
    x = centres[y] + noise * rng.standard_normal((len(y), 16))
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def test_the_field_classifier_learns_separable_fields_and_is_unsure_between_them() -> None:
    x, y = _fields_data(40, 0.2)
    model = FieldModel(x, y, l2=0.01)
    assert np.mean(model.proba(x).argmax(axis=1) == y) > 0.95
    assert np.mean(cross_validate(x, y, l2=0.01).argmax(axis=1) == y) > 0.9
    between = np.array([[0.7, 0.7] + [0.0] * 14])  # half vision, half robotics
    assert confident_fields(model.proba(between), 0.8)[0] == -1
    assert confident_fields(model.proba(x[:1]), 0.8)[0] == y[0]


def test_a_topic_is_mixed_only_when_enough_of_its_confident_papers_are_off_field() -> None:
    fields = np.array([0] * 10 + [2, 2, 3, -1, -1])
    assert topic_fields([list(range(12))], fields) == (1, 1, 2, 12)  # two language papers in a vision topic
    assert topic_fields([list(range(11)), [11, 12]], fields) == (0, 2, 2, 13)  # one stray per topic is not a mix
    assert topic_fields([[13, 14]], fields) == (0, 1, 0, 0)  # no confident paper: nothing to say
    assert topic_fields([list(range(10)) + [10, 11]] * 2, np.array([0] * 10 + [1, 1])) == (2, 2, 4, 24)


def test_the_domain_bench_reads_own_work_and_moves_a_paper_of_another_field() -> None:
    from assistant.papers import Paper
    from benchmarks.topics_data import Week
    from benchmarks.topics_domain import field_outliers, own_work_text, short_text

    paper = Paper(
        paper_id="2401.00901", title="SegLite: Efficient Fine-Tuning for Semantic Segmentation",
        abstract=("Large language models are costly to fine-tune. "
                  "We propose SegLite, which fine-tunes a segmentation network with 2% of its weights. "
                  "SegLite matches full fine-tuning on ADE20K."),
    )
    assert own_work_text(paper).split("\n\n")[1].startswith("We propose SegLite")
    assert "costly" not in own_work_text(paper)
    # The contribution sentence (the takeaway's first candidate) is the paper's own work, not its background.
    assert short_text(paper) == f"{paper.title}\n\nWe propose SegLite, which fine-tunes a segmentation network with 2% of its weights."
    assert short_text(paper.model_copy(update={"abstract": ""})) == f"{paper.title}\n\n"
    # Two topics of papers near field 0 and field 1; paper 2 sits in topic A but is clearly of field 1.
    names = np.eye(2, 4)
    x = np.array([[1, 0, .3, 0], [1, 0, 0, .3], [0, 1, .3, .3], [0, 1, 0, .3], [0, 1, .3, 0]], dtype=float)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    week = Week("2025-W01", [paper] * 5, [[]] * 5)
    grouping = {"2025-W01": ([[0, 1, 2], [3, 4]], [])}
    groups, other = field_outliers([week], {"2025-W01": x}, grouping, names, 0.2, False)["2025-W01"]
    assert sorted(map(sorted, groups)) == [[0, 1], [2, 3, 4]] and other == []
    # Paper 2 is of field 1, and no topic is: moved to "Other" only when asked, else kept.
    x2 = np.array([[1, 0, .3, 0], [1, 0, 0, .1], [0, .2, 0, 1], [0, 1, .3, 0], [0, 1, 0, 0]], dtype=float)
    x2 /= np.linalg.norm(x2, axis=1, keepdims=True)
    names2 = np.array([[1, 0, 0, 0], [0, 0, 0, 1]], dtype=float)
    groups, other = field_outliers([week], {"2025-W01": x2}, grouping, names2, 0.2, True)["2025-W01"]
    assert sorted(map(sorted, groups)) == [[0, 1], [3, 4]] and other == [2]
    assert field_outliers([week], {"2025-W01": x2}, grouping, names2, 0.2, False)["2025-W01"][1] == []


def test_field_probabilities_joined_to_the_vectors_split_a_theme_worded_alike_across_fields() -> None:
    """Three themes of twelve papers by wording; the first holds six papers of one field and six of another.
    Text alone keeps it one topic; joined with the fields (`topics_fieldsignal`), its two halves part."""
    from assistant.chains.clustering import cluster
    from benchmarks.topics_fieldsignal import cluster_with_fields, with_fields

    rng = np.random.default_rng(3)
    themes = np.eye(3, 24)
    rows = np.stack([themes[j] + 0.35 * rng.standard_normal(24) for j in range(3) for _ in range(12)])
    fields = np.zeros((36, 2))
    fields[:6, 0] = fields[6:12, 1] = fields[12:, 0] = 1.0

    def mixes(groups: list[list[int]]) -> bool:
        return any(set(g) & set(range(6)) and set(g) & set(range(6, 12)) for g in groups)

    assert mixes(cluster(rows, k=3, other_below=None)[0])
    assert not mixes(cluster_with_fields(rows, fields, 1.0, other_below=None, k=4)[0])
    joined = with_fields(rows / np.linalg.norm(rows, axis=1, keepdims=True), fields, 0.2)
    assert np.allclose(np.linalg.norm(joined, axis=1), 1.0)
    assert with_fields(rows, fields, 0.0) is rows


def test_field_placement_sends_a_confident_paper_of_another_field_to_other_and_counts_cross_family_pairs() -> None:
    """Two topics of six papers; paper 2 sits in the first but is confidently of the second's field."""
    from benchmarks.topics_fieldsignal import family_pairs, field_outsiders, placed_by_field

    labels = np.array([0] * 6 + [1] * 6)
    fields = np.zeros((12, 2))
    fields[:6, 0] = fields[6:, 1] = 0.9
    fields[:6, 1] = fields[6:, 0] = 0.1
    fields[2] = [0.05, 0.95]
    fields[3] = [0.5, 0.5]  # unsure: never an outsider
    assert np.flatnonzero(field_outsiders(labels, fields, 0.8)).tolist() == [2]
    assert not field_outsiders(labels, fields, 0.96).any()  # nobody is that sure
    # A topic whose confident papers split evenly has no majority field above a half: nobody leaves it.
    even = np.array([0, 0, 0, 1, 1, 1])
    assert not field_outsiders(even, np.eye(2)[[0, 0, 0, 1, 1, 0]], 0.8, majority=0.5)[:3].any()
    assert field_outsiders(even, np.eye(2)[[0, 0, 0, 1, 1, 0]], 0.8)[5]
    rng = np.random.default_rng(0)
    rows = np.repeat(np.eye(2, 16), 6, axis=0) + 0.1 * rng.standard_normal((12, 16))
    groups, other = placed_by_field(rows, fields, 0.8, labels=labels)
    assert 2 in other and all(2 not in g for g in groups)
    assert 2 in sum(placed_by_field(rows, fields, 2.0, labels=labels)[0], [])  # no placement: it stays
    fams = np.array([0, 0, 1, -1, 0, 0] + [1] * 6)
    # Topic 1: 5 known papers (4 of family 0, 1 of family 1) -> 10 pairs, 4 cross; topic 2: 15 pairs, 0 cross.
    assert family_pairs([list(range(6)), list(range(6, 12))], [], fams).tolist() == [25, 4, 11, 0]
    assert family_pairs([[0, 1, 4, 5], list(range(6, 12))], [2, 3], fams).tolist() == [21, 0, 11, 1]
