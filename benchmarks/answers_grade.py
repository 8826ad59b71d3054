"""Automatic grading of one answer against a frozen case of `benchmarks/answers/` (no data, no model).

Kept apart from the harness so the unit tests can grade small fixtures. An answer is graded from a
plain dict (`answer_view`), so the same code grades an `Answer` object and `assistant ask --json`.

Verdicts, answerable cases (every type except out_of_corpus / absent_detail):
  useful      not refused, states every key-fact group (any listed alternative), and carries a
              supported citation of at least `min_cited` expected papers (default one; compare: all);
  partial     not refused and gets part of the way: some key facts, or the facts without a supported
              citation of an expected paper, or fewer expected papers than asked for;
  not_useful  not refused and none of the above;
  refused     the app refused.
Unanswerable cases: `refused` is right; anything else is `answered` (a failure).

Wrong answers (conservative automatic proxy, see `wrong_sentences`): a sentence labelled supported
whose cited paper's abstract does not state what the sentence says of it (the clauses citing it, see
`cited_clauses`), recognised only by signals that
cannot be paraphrase: a number (>= 10, or with a decimal point or %) absent from the cited title and
abstract; a key fact of this case attributed to a paper that is not expected and whose abstract lacks
it; for out-of-corpus questions, the missing paper's name attributed to a paper whose abstract lacks it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

UNANSWERABLE = frozenset({"out_of_corpus", "absent_detail"})

_CITE = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_NUMBER = re.compile(r"(?<![a-z0-9.])\d+(?:\.\d+)?%?")


def normalize(text: str) -> str:
    """Lower case, no diacritics or LaTeX escapes, punctuation as spaces (decimal points and % kept)."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = text.replace("\\%", "%").replace("×", "x").replace("\\", " ")
    text = re.sub(r"(\d)x\b", r"\1 x", text)  # "3.43x" states the number 3.43
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 250,000 -> 250000
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)
    text = re.sub(r"[^a-z0-9.%]+", " ", text)
    return " ".join(text.split())


def contains(text: str, fact: str) -> bool:
    """`fact` occurs in `text` as whole words after `normalize`; a trailing `*` makes it a prefix."""
    prefix = fact.endswith("*")
    needle = normalize(fact.rstrip("*"))
    if not needle:
        return False
    tail = "" if prefix else r"(?![a-z0-9])"
    return re.search(r"(?<![a-z0-9])" + re.escape(needle) + tail, normalize(text)) is not None


def facts_found(text: str, key_facts: Sequence[Sequence[str]]) -> list[bool]:
    """Per key-fact group: does `text` state any of its alternatives?"""
    return [any(contains(text, alt) for alt in group) for group in key_facts]


def answer_view(answer: Any) -> dict[str, Any]:
    """The fields grading needs, from an `assistant.papers.Answer` (or the dict of its JSON form)."""
    data = answer if isinstance(answer, dict) else answer.model_dump()
    evidence = {}
    for n, hit in enumerate(data.get("evidence") or [], start=1):
        paper = hit.get("paper", hit)
        evidence[n] = {"paper_id": paper.get("paper_id"), "title": paper.get("title", ""), "abstract": paper.get("abstract", "")}
    return {
        "answer": data.get("answer", ""),
        "refused": bool(data.get("refused")),
        "citations": [{"n": c["n"], "paper_id": c["paper_id"], "supported": bool(c["supported"])} for c in data.get("citations") or []],
        "sentences": [{"text": s["text"], "cites": list(s.get("cites") or []), "supported": bool(s.get("supported"))} for s in data.get("sentences") or []],
        "evidence": evidence,
        "extractive": bool(data.get("extractive")),
    }


def _numbers(text: str, telling_only: bool = True) -> set[str]:
    """Numbers in `text` ("12B" states 12); `telling_only`: those an invented claim would show (>= 10, decimal, %)."""
    found = set()
    for tok in _NUMBER.findall(normalize(_CITE.sub(" ", text))):
        bare = tok.rstrip("%")
        if not telling_only or tok.endswith("%") or "." in bare or float(bare) >= 10:
            found.add(bare)
    return found


def _subject_name(title: str) -> str | None:
    """The short name a title starts with ("TruthRL: ..." -> "TruthRL"), if it has one."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 3 else None


def cited_clauses(sentence: str, n: int) -> str:
    """The part of a sentence that cites paper `n`: the clauses ending in a marker that names `n` (a clause
    runs from the previous marker to its own; text after the last marker belongs to the last clause).

    "A does X [1], whereas B does Y [2]." cites [2] for "whereas B does Y" only: a comparison's sentence
    must not be graded as if each paper were cited for the other's clause. One marker: the whole sentence."""
    marks = list(_CITE.finditer(sentence))
    if not marks:
        return sentence
    starts = [0] + [m.end() for m in marks[:-1]]
    ends = [m.end() for m in marks[:-1]] + [len(sentence)]
    picked = [sentence[a:b] for a, b, m in zip(starts, ends, marks) if n in {int(x) for x in re.findall(r"\d+", m.group())}]
    return " ".join(picked) if picked else sentence


def wrong_sentences(case: dict[str, Any], view: dict[str, Any]) -> list[dict[str, Any]]:
    """Sentences labelled supported that the proxy shows to be wrong about a cited paper (see module doc)."""
    expected = set(case.get("expected") or [])
    question_numbers = _numbers(case["question"])
    name = _subject_name(case["titles"][0]) if case["type"] == "out_of_corpus" and case.get("titles") else None
    wrong = []
    for sent in view["sentences"]:
        if not sent["supported"]:
            continue
        for n in sent["cites"]:
            paper = view["evidence"].get(n)
            if paper is None:
                continue
            source = f"{paper['title']} {paper['abstract']}"
            claim = cited_clauses(sent["text"], n)
            reasons = []
            invented = sorted(_numbers(claim) - question_numbers - _numbers(source, telling_only=False))
            if invented:
                reasons.append(f"numbers not in the cited abstract: {', '.join(invented)}")
            if paper["paper_id"] not in expected:
                for group in case.get("key_facts") or []:
                    stated = [alt for alt in group if contains(claim, alt) and not contains(source, alt)]
                    if stated:
                        reasons.append(f"key fact {stated[0]!r} attributed to a paper that does not state it")
            if name and contains(claim, name) and not contains(source, name):
                reasons.append(f"{name!r} (not in the store) attributed to another paper")
            if reasons:
                wrong.append({"sentence": sent["text"], "n": n, "paper_id": paper["paper_id"], "reasons": reasons})
    return wrong


def grade(case: dict[str, Any], view: dict[str, Any]) -> dict[str, Any]:
    """The verdict for one case (see module doc), with the evidence for it."""
    wrong = wrong_sentences(case, view)
    if case["type"] in UNANSWERABLE:
        return {"verdict": "refused" if view["refused"] else "answered", "wrong": wrong}
    if view["refused"]:
        return {"verdict": "refused", "wrong": wrong, "facts": [], "cited_expected": []}
    expected = list(case["expected"])
    facts = facts_found(_CITE.sub(" ", view["answer"]), case.get("key_facts") or [])
    cited = sorted({c["paper_id"] for c in view["citations"] if c["supported"] and c["paper_id"] in expected})
    need = min(int(case.get("min_cited", 1)), len(expected))
    cited_any = {c["paper_id"] for c in view["citations"]} & set(expected)
    if all(facts) and len(cited) >= need:
        verdict = "useful"
    elif any(facts) or cited or cited_any:
        verdict = "partial"
    else:
        verdict = "not_useful"
    return {"verdict": verdict, "wrong": wrong, "facts": facts, "cited_expected": cited}


def recall_at(expected: Iterable[str], ranked: Sequence[str], k: int, capped: bool = False) -> float:
    """Share of `expected` ids among the first `k` of `ranked`; `capped`: out of min(k, expected), so a
    list of k right papers scores 1 when more than k are right (BEIR's capped recall)."""
    want = set(expected)
    den = min(len(want), k) if capped else len(want)
    return len(want & set(ranked[:k])) / den if want else 0.0
