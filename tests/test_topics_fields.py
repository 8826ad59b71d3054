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
