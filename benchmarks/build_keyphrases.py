"""Build assistant/chains/keyphrases.json, the terms a topic label may use, from HF's machine keywords.

    python -m benchmarks.build_keyphrases   # reads ../shared/data/hf_daily_papers in place

A term names a theme when a keyphrase extractor nobody here wrote ends a keyphrase with it: HF's
`hf_ai_keywords` ("low-rank approximation", "semi-supervised object detection") end with their head
noun, so "approximation" or "object detection" qualify, while a verb ("consider"), an adjective
("robust"), a stock phrase ("independent interest", "consistently outperforms") or the front of a longer
name ("semi-supervised object", "mean absolute") never ends one. A term qualifies when it ends a keyword
(its last one or two content words, the words read as `topic_labels` reads them, plural "s" dropped) of at
least MIN_PAPERS different papers, and of at least HEAD_SHARE of the papers whose keywords use it at all:
a word that mostly modifies another ("robust optimization", "robust reinforcement learning") is not a
theme on its own even if a few keywords end with it. For single words the file also keeps the share of all the HF papers
(title and abstract) that use the word: `topic_labels.vague` reads it. Only papers of weeks outside the
topic benchmark's frozen test half are read, so the test weeks' keywords play no part in their labels.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from datetime import date
from pathlib import Path

from assistant.chains.topic_labels import VAGUE_SHARE, label_terms, label_words, theme_key
from benchmarks.topics_data import DATA, frozen_split

OUT = Path(__file__).resolve().parent.parent / "assistant" / "chains" / "keyphrases.json"
MIN_PAPERS = 2  # a keyword ending seen in one paper only may be that paper's slip
HEAD_SHARE = 0.5  # ends the keyword more often than it modifies a later word: a head noun, not a modifier


def keyword_ends(keyword: str) -> set[str]:
    """The keyword's last word and last two words, as `theme_key`s, when they are content words: none when
    it ends with a word labels never use ("reinforcement learning", "world models": "reinforcement" and
    "world" are not what those keywords are about)."""
    words = label_words(keyword)[:-1]  # the last None only marks the end of the text
    tail: list[str] = []
    for w in reversed(words):
        if w is None:
            break
        tail.insert(0, w)
    return {theme_key(" ".join(tail[-n:])) for n in (1, 2) if len(tail) >= n}


def keyword_parts(keyword: str) -> set[str]:
    """Every content word and pair of adjacent content words of the keyword, as `theme_key`s."""
    words = label_words(keyword)
    pairs = {f"{a} {b}" for a, b in zip(words, words[1:]) if a and b}
    return {theme_key(t) for t in {w for w in words if w} | pairs}


def main() -> None:
    test = set(frozen_split()["test"])
    ends: Counter[str] = Counter()
    uses: Counter[str] = Counter()
    parts: Counter[str] = Counter()
    seen: set[str] = set()
    with gzip.open(DATA, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            y, w, _ = date.fromisoformat(row["list_date"]).isocalendar()
            if f"{y}-W{w:02d}" in test or row["arxiv_id"] in seen:
                continue
            seen.add(row["arxiv_id"])
            keywords = row.get("hf_ai_keywords") or []
            ends.update(set().union(*(keyword_ends(k) for k in keywords)))
            parts.update(set().union(*(keyword_parts(k) for k in keywords)))
            text = " ".join(f"{row['title']}. {row['abstract']}".split())
            uses.update({theme_key(t) for t in label_terms(text) if " " not in t})
    themes = sorted(t for t, c in ends.items() if c >= MIN_PAPERS and c >= HEAD_SHARE * parts[t])
    OUT.write_text(json.dumps({
        "about": "terms that end an HF machine keyword (hf_ai_keywords) of at least "
                 f"{MIN_PAPERS} papers and {HEAD_SHARE:.0%} of those whose keywords use it, {len(seen)} HF papers outside the topic benchmark's test weeks; "
                 "built by benchmarks/build_keyphrases.py",
        "phrases": [t for t in themes if " " in t],
        "words": [t for t in themes if " " not in t],
        "vague": sorted(t for t, c in uses.items() if c > VAGUE_SHARE * len(seen)),
    }, indent=0, sort_keys=True) + "\n")
    print(f"{len(themes)} theme terms from {len(seen)} papers -> {OUT}")


if __name__ == "__main__":
    main()
