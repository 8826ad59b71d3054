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


@pytest.mark.parametrize("engine", ["onnx", "torch"])
def test_span_vectors_come_from_the_same_pass(engine: str) -> None:
    """Late chunking: each span is pooled from its own tokens in the text's forward pass."""
    if engine == "torch" and not torch_available():
        pytest.skip("torch is not installed (the `bulk` extra)")
    text = "Cooking notes. We bake a chocolate cake with cocoa and sugar. Mirror prox converges for Nash games."
    first, second = (text.index("We bake"), text.index("sugar.") + 6), (text.index("Mirror"), len(text))
    e = LocalEmbedder(bulk=engine, bulk_min=1)
    whole, spans = e.embed_with_spans([text, "no spans here"], [[first, second, (len(text), len(text) + 5)], []], bulk=True)
    assert np.allclose(whole, e.embed([text, "no spans here"], bulk=True), atol=1e-5)  # same text vectors as `embed`
    cake, games, past_end = spans[0]
    assert spans[1].shape == (0, 384) and not past_end.any()  # a span with no token inside: a zero row
    assert np.allclose(np.linalg.norm([cake, games], axis=1), 1, atol=1e-5)
    q_cake, q_games = e.embed(["baking a chocolate cake", "equilibria of games"])
    assert cake @ q_cake > games @ q_cake and games @ q_games > cake @ q_games
