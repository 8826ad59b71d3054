"""The packaged embedder: both engines give the same unit vectors; similar texts are close."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.embeddings import LocalEmbedder, torch_available

TEXTS = [
    "Nash learning from human feedback with mirror prox converges linearly.",
    "Semi-supervised end-to-end text spotting with consistency regularization.",
    "A recipe for chocolate cake.",
] * 6


def test_onnx_vectors_are_unit_and_semantic() -> None:
    e = LocalEmbedder(bulk="onnx")
    v = e.embed(TEXTS[:3])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    q = e.embed(["preference optimisation as a game"])[0]
    assert int(np.argmax(v @ q)) == 0
    assert e.embed([]).shape == (0, 384)


@pytest.mark.skipif(not torch_available(), reason="torch is not installed (the `bulk` extra)")
def test_bulk_engine_matches_onnx() -> None:
    onnx = LocalEmbedder(bulk="onnx").embed(TEXTS)
    bulk = LocalEmbedder(bulk="torch", bulk_min=4).embed(TEXTS, bulk=True)
    assert (onnx * bulk).sum(1).min() > 0.99
