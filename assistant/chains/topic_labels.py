"""Topic labels: distinctive keywords per group and the model-written title of a compose reply.

Called by `chains.digest` (keywords, fallback titles) and `chains.topic_summary` (reply parsing, the
terms of its shared and contrast sentences). A label names a theme: only terms that HF's machine
keyword extractor ends a keyphrase with (`keyphrases.json`, built by `benchmarks/build_keyphrases.py`)
are used, so verbs, adjectives and stock phrases ("consider", "robust", "independent interest") are not.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from assistant.papers import Paper

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_STOP = frozenset(
    """a about above across after again against all almost also although among an and any are as at
    be because been before being below between both but by can could did do does doing during each
    either etc few for from further had has have having here how however if in into is it its itself
    just many may might more most much must no nor not now of off often on once only or other our out
    over own per rather same several should since so some such than that the their them then there
    these they this those through thus to too under until up upon use used uses using very via was we
    well were what when where whether which while who whom why will with within without would yet you
    your paper papers work works study propose proposed proposes present presents introduce introduces
    introduced approach approaches method methods model models framework frameworks new novel based
    show shows shown demonstrate demonstrates result results performance task tasks existing recent
    recently various different significant significantly extensive experiments experimental achieve
    achieves achieved state-of-the-art sota art improve improves improved improvement effective
    effectively efficient address addresses key first one two three code available https github com
    large benchmark benchmarks data dataset datasets training trained learning towards toward enable
    enables leverage leverages leveraging compared across comprehensive furthermore moreover specifically
    i ii iii able make makes made high low better best across problem problems challenge challenges""".split()
)


TITLE_POOL = 10  # a two-word title must be among the group's most typical terms
KEYPHRASES = Path(__file__).with_name("keyphrases.json")
# A single word used by more than this share of all HF papers names more than one topic ("language",
# "text", "images"): it is not a topic's theme on its own. The share is that of a typical topic in its
# week on the topic benchmark's dev weeks (1 / 5.5 topics a week; benchmarks/results/topics.md).
VAGUE_SHARE = 0.18


def label_words(text: str) -> list[str | None]:
    """Lower-cased words; None marks a break (stop word, short word, number, punctuation)."""
    out: list[str | None] = []
    for chunk in re.split(r"[.,;:!?()\[\]{}\"]", text):
        for raw in chunk.split():
            m = _TOKEN.fullmatch(raw.strip("'\u2019*`"))
            w = m.group().lower().strip("-") if m else ""
            out.append(w if len(w) > 2 and w not in _STOP else None)
        out.append(None)
    return out


def label_terms(text: str) -> set[str]:
    """Unigrams and bigrams of content words (a bigram never spans a stop word or punctuation)."""
    words = label_words(text)
    terms = {w for w in words if w}
    terms |= {f"{a} {b}" for a, b in zip(words, words[1:]) if a and b and a != b}
    return terms


def theme_key(term: str) -> str:
    """A term as `keyphrases.json` stores it: each word without a plural "s" (not of "-ss", "-is", "-us")."""
    return " ".join(re.sub(r"(?<=[a-z0-9-]{3})(?<![isu])s$", "", w) for w in term.lower().split())


@cache
def _keyphrases() -> tuple[frozenset[str], frozenset[str]]:
    data = json.loads(KEYPHRASES.read_text())
    return frozenset(data["phrases"]) | frozenset(data["words"]), frozenset(data["vague"])


def is_theme(term: str) -> bool:
    """Whether `term` names a theme: HF's keyword extractor ends keyphrases of several papers with it."""
    return theme_key(term) in _keyphrases()[0]


def vague(term: str) -> bool:
    """A single word too common across papers to name one topic (`VAGUE_SHARE`)."""
    return " " not in term and theme_key(term) in _keyphrases()[1]


def themes(terms: Sequence[str]) -> list[str]:
    """The `terms` that name a theme (`is_theme`), in order."""
    return [t for t in terms if is_theme(t)]


def specific_themes(terms: Sequence[str]) -> list[str]:
    """The `terms` that name a theme and are not `vague`, in order: what a label may say."""
    return [t for t in themes(terms) if not vague(t)]


def ranked_terms(groups: Sequence[Sequence[Paper]], all_papers: Sequence[Paper]) -> list[list[str]]:
    """Per group its terms, most typical first.

    Score = share of the group's papers using the term x idf over the period's papers x
    (1 + share of the group's titles using it): title words name topics better than abstract words.
    """
    doc_terms = {p.paper_id: label_terms(f"{p.title}. {p.abstract}") for p in all_papers}
    title_terms = {p.paper_id: label_terms(p.title) for p in all_papers}
    df_all = Counter(t for terms in doc_terms.values() for t in terms)
    n_all = len(all_papers)
    out: list[list[str]] = []
    for group in groups:
        df = Counter(t for p in group for t in doc_terms.get(p.paper_id) or label_terms(p.text))
        tf_title = Counter(t for p in group for t in title_terms.get(p.paper_id) or label_terms(p.title))
        need = 2 if len(group) >= 3 else 1
        scored = []
        for term, count in df.items():
            if count < need:
                continue
            idf = math.log((n_all + 1) / (df_all[term] + 1)) + 1.0
            bonus = 1.2 if " " in term else 1.0
            scored.append(((count / len(group)) * idf * (1 + tf_title[term] / len(group)) * bonus, term))
        scored.sort(key=lambda s: (-s[0], s[1]))
        out.append([term for _, term in scored])
    return out


def group_keywords(groups: Sequence[Sequence[Paper]], all_papers: Sequence[Paper], top: int = 3) -> list[list[str]]:
    """Per group the `top` theme terms (`is_theme`, not `vague`) most typical of it and rare elsewhere
    (none containing another); its most typical term when none is a theme."""
    out: list[list[str]] = []
    for ranked in ranked_terms(groups, all_papers):
        chosen: list[str] = []
        for term in specific_themes(ranked) or themes(ranked) or ranked[:1]:
            if not any(term in c or c in term for c in chosen):
                chosen.append(term)
            if len(chosen) == top:
                break
        out.append(chosen)
    return out


def group_titles(groups: Sequence[Sequence[Paper]], all_papers: Sequence[Paper]) -> list[str]:
    """A noun-phrase title per group, distinct within the period: among its TITLE_POOL most typical theme
    terms (`is_theme`, not `vague`) and terms half its titles use, the one in the most of its papers' titles (titles name themes; a
    term typical of the abstracts may be one member's), a two-word term on a tie, then the most typical;
    written as the titles write it ("CLIP"). Else its top theme term, else its top term (never a list
    of keywords)."""
    used: set[str] = set()
    out: list[str] = []
    for group, ranked in zip(groups, ranked_terms(groups, all_papers)):
        fresh = [t for t in specific_themes(ranked) if t not in used]
        def in_titles(term: str) -> int:  # how many of the group's titles write the term
            return sum(written(term, p.title) is not None for p in group)
        named = {t: in_titles(t) for t in ranked[:TITLE_POOL] if not vague(t)}
        # a term half the group's titles use names its theme whatever its part of speech ("Semi-supervised")
        fresh = [*dict.fromkeys([t for t, n in named.items() if 2 * n >= len(group) > 1 and t not in used] + fresh)]
        pool = [(named[t] if t in named else in_titles(t), " " in t, -i, t) for i, t in enumerate(fresh[:TITLE_POOL])]
        best = max(pool, default=None)
        text = best[3] if best and best[0] >= min(2, len(group)) else next(iter(fresh), None)
        text = text or next((t for t in ranked if t not in used), "miscellaneous")
        used.add(text)
        out.append(_as_written(text, [p.title for p in group]))
    return out


def written(term: str, title: str) -> str | None:
    """`term` as `title` writes it (a whole word or words, any case; "CLIP" in "Improving CLIP's"), or None."""
    m = re.search(rf"(?<![\w-]){re.escape(term)}(?![\w-])", title, re.IGNORECASE)
    return m.group() if m else None


def _as_written(term: str, titles: Sequence[str]) -> str:
    """`term` capitalised, in the case a title writes it when a word keeps capitals inside it (an acronym)."""
    for form in (written(term, title) for title in titles):
        if form and any(c.isupper() for part in re.split(r"[-\s]", form) for c in part[1:]):
            return form[0].upper() + form[1:]
    return term[0].upper() + term[1:]


_TOPIC_LINE = re.compile(r"^[\s#>*\-]*\**\s*(?:topic|title)\s*\**\s*[:\-\u2013]\s*\**\s*(.*?)\s*\**\s*$", re.IGNORECASE)


def parse_topic_reply(raw: str) -> tuple[str | None, str]:
    """(model-written topic name or None, the summary text) from a compose reply."""
    title: str | None = None
    body: list[str] = []
    for line in raw.strip().splitlines():
        m = _TOPIC_LINE.match(line)
        if m and title is None and not body:
            title = m.group(1).strip().strip("\"'\u201c\u201d*_`").rstrip(".")
            continue
        if re.match(r"^\s*(?:summary|paragraph)\s*:\s*$", line, re.IGNORECASE):
            continue
        body.append(re.sub(r"^\s*(?:summary|paragraph)\s*:\s*", "", line, flags=re.IGNORECASE))
    if title is not None and (not title or len(title.split()) > 7 or len(title) > 70 or "[" in title):
        title = None
    return title, "\n".join(body).strip()

