"""Small calibrated models shipped as data: logistic regressions over named features.

The answerability decision (`chains.answerable`), the question router (`chains.routing`) and the
support check (`chains.grounding`) load their coefficients from JSON files next to this module.
`benchmarks/fit_answerable.py` refits the first two on the dev cases, `benchmarks/fit_support.py`
the third, and they rewrite the files with how they were fitted; nothing here learns at run time.
Pure numpy, no I/O beyond reading the packaged files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.errors import ConfigError

DATA_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Logistic:
    """A (multinomial when `classes` has more than two entries) logistic regression on standardised features.

    `weights` has one row per class (one row for a binary model, whose probability is that of the
    positive class); inputs are standardised with `mean` and `scale` first.
    """

    features: tuple[str, ...]
    classes: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    thresholds: dict[str, float]
    fitted: str

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Probabilities: shape (n,) for a binary model, (n, classes) otherwise."""
        z = ((np.atleast_2d(x) - self.mean) / self.scale) @ self.weights.T + self.bias
        if len(self.classes) <= 2:
            return 1.0 / (1.0 + np.exp(-z[:, 0]))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(self.features), "classes": list(self.classes),
            "mean": self.mean.round(6).tolist(), "scale": self.scale.round(6).tolist(),
            "weights": self.weights.round(6).tolist(), "bias": self.bias.round(6).tolist(),
            "thresholds": self.thresholds, "fitted": self.fitted,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Logistic:
        return cls(
            features=tuple(data["features"]),  # type: ignore[arg-type]
            classes=tuple(data["classes"]),  # type: ignore[arg-type]
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.atleast_2d(np.asarray(data["weights"], dtype=np.float64)),
            bias=np.atleast_1d(np.asarray(data["bias"], dtype=np.float64)),
            thresholds={str(k): float(v) for k, v in dict(data.get("thresholds") or {}).items()},  # type: ignore[call-overload]
            fitted=str(data.get("fitted", "")),
        )


@lru_cache(maxsize=4)
def load(name: str) -> Logistic:
    """The packaged model `name` (`relevance`, `question_kinds`, `support`); a missing or broken file is a ConfigError."""
    path = DATA_DIR / f"{name}.json"
    try:
        return Logistic.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path} is missing or invalid ({exc}); refit it (`python -m benchmarks.fit_answerable`, or `fit_support` for `support`)") from exc
