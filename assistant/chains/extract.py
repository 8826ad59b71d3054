"""Per-paper extraction: problem, method, data/benchmarks and key result of one paper.

Shared by the compare and digest chains. One short model call per paper (prompts/extract.md),
parsed robustly and cached in the store by (content hash, model, prompt version), so an
interrupted digest resumes and a re-run makes no model call. The aspects and the model-free
fallback (`quick_extraction`) live in `chains.aspects`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from tqdm import tqdm

from assistant.chains.aspects import ASPECTS, Extraction
from assistant.chains.grounding import Support, check_claim
from assistant.papers import Paper
from assistant.prompts import PROMPTS_DIR, load_prompt
from assistant.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
EmbedFn = Callable[[list[str]], np.ndarray]
Guard = Callable[[Callable[[], T]], T]
LLMFactory = Callable[[], BaseChatModel]

EXTRACT_VARS = frozenset({"title", "abstract"})
CACHE_KIND = "extract"


def no_guard(fn: Callable[[], T]) -> T:
    """Run `fn` as is (the default when no caller wraps model calls)."""
    return fn()


def prompt_version(name: str) -> str:
    """A short hash of a prompt file: editing the prompt invalidates cached model outputs."""
    try:
        return hashlib.sha256((PROMPTS_DIR / f"{name}.md").read_bytes()).hexdigest()[:8]
    except OSError:
        return "missing"


def cache_key(paper: Paper, model_label: str) -> str:
    return f"{paper.content_hash}|{model_label}|{prompt_version('extract')}"


# ---------------------------------------------------------------------------- parsing

_KEYS = {
    "problem": "problem",
    "problems": "problem",
    "task": "problem",
    "challenge": "problem",
    "gap": "problem",
    "motivation": "problem",
    "method": "method",
    "methods": "method",
    "approach": "method",
    "proposed method": "method",
    "solution": "method",
    "contribution": "method",
    "data": "data",
    "datasets": "data",
    "dataset": "data",
    "benchmarks": "data",
    "benchmark": "data",
    "data/benchmarks": "data",
    "data / benchmarks": "data",
    "data and benchmarks": "data",
    "evaluation": "data",
    "result": "result",
    "results": "result",
    "key result": "result",
    "key results": "result",
    "main result": "result",
    "finding": "result",
    "findings": "result",
    "key finding": "result",
}
_LINE = re.compile(r"^[\s>*\-\u2022\d.)#]*\**\s*([A-Za-z][A-Za-z /]{1,24}?)\s*\**\s*[:\uff1a\-\u2013\u2014]\s*\**\s*(.*)$")
_EMPTY = re.compile(
    r"^(?:n/?a|none|null|unknown|-+|not (?:stated|mentioned|specified|given|reported|available)\b.*|"
    r"(?:the )?abstract does not (?:state|mention|say|specify)\b.*)\.?$",
    re.IGNORECASE,
)


def _clean_value(value: object) -> str:
    text = " ".join(str(value or "").split())
    text = text.strip().strip("*_`\"'\u201c\u201d").strip()
    text = re.sub(r"\s*\[\d+(?:\s*,\s*\d+)*\]", "", text).strip()  # the app attaches [n], not the model
    if _EMPTY.match(text):
        return ""
    return text.rstrip(".;,").strip()


def parse_extraction(raw: str) -> dict[str, str]:
    """The aspects found in a model reply: `Field: value` lines (any bullets/bold) or a JSON object.

    Unknown fields are ignored; a field may continue on following lines until the next field.
    """
    fields: dict[str, str] = {}
    text = raw.strip()
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            obj = json.loads(text[start : end + 1])
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            for key, value in obj.items():
                aspect = _KEYS.get(str(key).strip().lower().replace("_", " "))
                if aspect and aspect not in fields:
                    fields[aspect] = _clean_value(value)
            if fields:
                return fields
    current: str | None = None
    for line in text.splitlines():
        m = _LINE.match(line)
        aspect = _KEYS.get(m.group(1).strip().lower()) if m else None
        if m and aspect:
            current = aspect if aspect not in fields else None
            if current:
                fields[current] = m.group(2)
        elif current and line.strip() and not line.strip().startswith("#"):
            fields[current] = f"{fields[current]} {line.strip()}"
        else:
            current = None
    return {k: _clean_value(v) for k, v in fields.items()}


# ---------------------------------------------------------------------------- model extraction


def _from_cache(value: object, paper: Paper) -> Extraction | None:
    if not isinstance(value, dict):
        return None
    fields = {a: str(value.get(a) or "") for a in ASPECTS}
    return Extraction(paper_id=paper.paper_id, source="model", **fields)


def cached_extraction(paper: Paper, store: Store, model_label: str) -> Extraction | None:
    """The model extraction cached for this paper's current text and this model, if any."""
    return _from_cache(store.cache_get(CACHE_KIND, cache_key(paper, model_label)), paper)


def extract_paper(
    paper: Paper, llm: BaseChatModel, store: Store, model_label: str, guard: Guard = no_guard
) -> Extraction:
    """One model call (unless cached): the paper's four aspects, cached as soon as they arrive."""
    hit = cached_extraction(paper, store, model_label)
    if hit is not None:
        return hit
    chain = load_prompt("extract", EXTRACT_VARS) | llm | StrOutputParser()
    raw = guard(lambda: chain.invoke({"title": paper.title, "abstract": " ".join(paper.abstract.split())}))
    fields = parse_extraction(raw)
    if not fields:
        log.info("extraction of %s had no parsable field: %r", paper.paper_id, raw[:200])
    value = {a: fields.get(a, "") for a in ASPECTS} | {"raw": raw[:2000]}
    store.cache_put(CACHE_KIND, cache_key(paper, model_label), value)
    return Extraction(paper_id=paper.paper_id, source="model", **{a: value[a] for a in ASPECTS})


def extract_many(
    papers: Sequence[Paper],
    llm_factory: LLMFactory,
    store: Store,
    model_label: str,
    guard: Guard = no_guard,
    progress: bool = False,
    workers: int = 1,
    desc: str = "extract",
) -> dict[str, Extraction]:
    """Model extractions of `papers`: cached ones first, then one call per missing paper.

    The model is only created when something is missing, so a fully cached run never starts it.
    `workers` > 1 runs calls concurrently (useful for remote endpoints, not for the local model).
    """
    out: dict[str, Extraction] = {}
    missing: list[Paper] = []
    for paper in papers:
        hit = cached_extraction(paper, store, model_label)
        if hit is not None:
            out[paper.paper_id] = hit
        else:
            missing.append(paper)
    if not missing:
        return out
    llm = guard(llm_factory)
    bar = tqdm(total=len(missing), unit="paper", desc=desc, file=sys.stderr, disable=not progress, dynamic_ncols=True)
    try:
        if workers <= 1:
            for paper in missing:
                out[paper.paper_id] = extract_paper(paper, llm, store, model_label, guard)
                bar.update(1)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = {p.paper_id: pool.submit(extract_paper, p, llm, store, model_label, guard) for p in missing}
                for pid, fut in futures.items():
                    out[pid] = fut.result()
                    bar.update(1)
    finally:
        bar.close()
    return out


def merged(model: Extraction | None, quick: Extraction) -> Extraction:
    """The model's aspects, with the quick extraction's sentence wherever the model said nothing."""
    if model is None:
        return quick
    values = {a: model.get(a) or quick.get(a) for a in ASPECTS}
    return Extraction(paper_id=model.paper_id, source="model", **values)


# ---------------------------------------------------------------------------- checking aspects


def check_aspects(paper: Paper, values: dict[str, str], embed: EmbedFn) -> dict[str, Support]:
    """Check extracted phrases against one abstract with the app's one support check.

    Cells are short phrases (`phrase=True`); the problem a paper addresses is usually stated in
    its background, so only the other aspects must be stated as this paper's own work.
    """
    return {
        aspect: check_claim(value, paper, embed, own_work=aspect != "problem", phrase=True)
        for aspect, value in values.items()
        if value.strip()
    }
