"""The oracle model for the answer benchmark: a perfect reader behind the fake OpenAI-compatible server.

It answers each benchmark question with the gold: the sentence(s) of the expected paper's abstract
that state the case's key facts, each ending with the citation number that paper has in the prompt's
evidence (found by its title); a comparison's compose prompt (its `Focus:` is the question) is
answered the same way from its numbered notes. When the expected paper is not in the evidence, or the question is
unanswerable, it replies NOT_IN_PAPERS, as a good model should. So with the oracle behind it, any
answer that is not useful is the app's doing (retrieval, the answerability decision, prompt focusing,
the support check), which is what `--backend oracle` measures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from benchmarks.answers_grade import UNANSWERABLE, contains, normalize

_EVIDENCE_LINE = re.compile(r"^\[(\d+)\] (.+?) \((?:\d{4}-\d{2}-\d{2}|undated)\): ")
_NOTES_LINE = re.compile(r"^\[(\d+)\] (.+)$")
_CONTRIBUTION = re.compile(r"\b(we|this paper|this work)\s+(propose|introduce|present|develop)", re.I)
NOT_IN_PAPERS = "NOT_IN_PAPERS"  # assistant.prompts.CANNOT_ANSWER; not imported, so the server process stays light


def split_sentences(text: str) -> list[str]:
    """A plain sentence split (the oracle must not depend on the app's own splitter)."""
    parts = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9(])", " ".join(text.split()))
    return [p for p in parts if p]


def gold_sentences(abstract: str, key_facts: Sequence[Sequence[str]]) -> list[str]:
    """The fewest abstract sentences (at most two) that state the most key-fact groups."""
    sents = split_sentences(abstract)
    if not sents:
        return []
    if not key_facts:
        lead = next((s for s in sents if _CONTRIBUTION.search(s)), sents[0])
        return [lead]

    def covered(sent: str) -> set[int]:
        return {i for i, group in enumerate(key_facts) if any(contains(sent, alt) for alt in group)}

    ranked = sorted(sents, key=lambda s: -len(covered(s)))
    best = ranked[0]
    missing = set(range(len(key_facts))) - covered(best)
    chosen = [best]
    if missing:
        extra = max(sents, key=lambda s: len(covered(s) & missing))
        if covered(extra) & missing:
            chosen.append(extra)
    return [s for s in sents if s in chosen]  # text order


def build_gold(cases: Sequence[dict[str, Any]], papers: dict[str, dict[str, str]]) -> dict[str, Any]:
    """question (normalised) -> [{"title", "sentences"}] per expected paper; [] for unanswerable cases."""
    gold: dict[str, Any] = {}
    for case in cases:
        entries = []
        if case["type"] not in UNANSWERABLE:
            groups = case.get("key_facts") or []
            for pid in case["expected"]:
                paper = papers.get(pid)
                if paper is None:
                    continue
                mine = [g for g in groups if any(contains(paper["abstract"], alt) for alt in g)]
                if groups and not mine:
                    continue  # a compare case's facts of the other paper
                entries.append({"title": paper["title"], "sentences": gold_sentences(paper["abstract"], mine)})
        gold[normalize(case["question"])] = entries
    return gold


class OracleResponder:
    """`responder(messages) -> str` for tests/fake_openai.FakeOpenAI."""

    def __init__(self, gold: dict[str, Any]) -> None:
        self.gold = gold

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        user = str(messages[-1].get("content", ""))
        if "Follow-up question:" in user:  # the condense prompt: the question is already standalone
            return user.split("Follow-up question:", 1)[1].split("\n", 1)[0].strip()
        notes = "Focus:" in user and "Notes:" in user  # the comparison chain's compose prompt
        marker = "Focus:" if notes else "Question:"
        question = user.rsplit(marker, 1)[-1].split("\n", 1)[0].strip()
        entries = self.gold.get(normalize(question)) or []
        numbers = {}
        for line in user.splitlines():
            m = (_NOTES_LINE if notes else _EVIDENCE_LINE).match(line.strip())
            if m:
                numbers.setdefault(normalize(m.group(2)), int(m.group(1)))
        parts = []
        for entry in entries:
            n = numbers.get(normalize(entry["title"]))
            if n is None:
                continue
            for sent in entry["sentences"]:
                parts.append(f"{sent.rstrip().rstrip('.')} [{n}].")
        return " ".join(parts) if parts else NOT_IN_PAPERS
