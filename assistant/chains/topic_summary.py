"""Topic summaries that synthesise: what a topic's papers share, then where they differ.

Called by `chains.digest.build_digest`. The structure is the app's; the model writes only a name
for the topic and one sentence on what its papers share, from their checked one-line takeaways (a
small prompt, so a small local model answers in seconds). The name is kept when at least
`min(SHARED_MIN, papers)` of the topic's most central papers state it (else the app's title is used),
and that sentence is kept, citing the papers
whose own work states it (`grounding.check_claim`, phrase mode), only when at least
`min(SHARED_MIN, papers)` of them do; otherwise the app writes it from the group's most typical
term. "Where they differ" splits the topic in two by its papers' vectors (2-means, centred on the
topic) and names each side's most typical term that its own papers state more than the other
side's ("some work on A [..], others on B [..]"), when each side has one; then "For instance, X does
A [i] and Y does B [j], whereas Z does C [k]" (led by "Where they differ:" when no term told the
sides apart) sets the most central papers of the two sides against each other, each clause made from the
paper's takeaway and checked against that paper (a clause that fails is left out, the JSON keeps it
and why, and the next paper is used). So every sentence shown is supported and cites several
papers; nothing is shown with a mark.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.output_parsers import StrOutputParser

from assistant.chains.clustering import centred, normalize_rows, spherical_kmeans
from assistant.chains.extract import EmbedFn, Guard, LLMFactory, no_guard, prompt_version
from assistant.chains.one_line import compress, lower_first, verb_headed
from assistant.chains.support import Dropped, first_person
from assistant.chains.takeaway import Takeaway
from assistant.chains.topic_labels import parse_topic_reply, ranked_terms, specific_themes, themes, vague, written
from assistant.citations import claim_body, parse_citations, split_sentences, strip_citations
from assistant.chains.answerable import method_name
from assistant.chains.grounding import check_claim
from assistant.papers import Paper, Sentence
from assistant.prompts import load_prompt
from assistant.store import Store

TOPIC_VARS = frozenset({"papers"})
TOPIC_CACHE_KIND = "digest_topic"
CHECK_CACHE_KIND = "digest_topic_check"
VERSION = "6"  # bump when the summary's structure or checks change: cached summaries are rebuilt
PROMPT_PAPERS = 5  # the most central papers' takeaways go into the prompt (prefill is the cost)
SHARED_POOL = 8  # a shared sentence is checked against this many of the most central papers
SHARED_MIN = 3  # papers that must state a shared sentence (all of them when the topic has fewer)
SHARED_CITES = 6  # citations shown on a shared sentence at most
SHARED_TERMS = 10  # the topic's most typical terms tried for the app's shared sentence
CONTRAST_TERMS = 8  # a side's most typical terms tried for "where they differ"
SIDE_CITES = 4  # citations per side of the contrast at most
EXAMPLE_CLAUSES = 3  # papers in the "for instance" sentence: two of one side, one of the other
MAX_CLAUSE_WORDS = 16
_COUNT = "no one two three four five six seven eight nine ten eleven twelve".split()
_ORDINAL = ("one paper", "another", "a third")


def render_topic_notes(papers: Sequence[Paper], lines: dict[str, Takeaway], methods: dict[str, str]) -> str:
    """`[i] Title: note` per paper: the model-extracted method when there is one (`digest --extract
    model`), else the checked takeaway, else the title alone."""
    out = []
    for i, p in enumerate(papers, start=1):
        line = lines.get(p.paper_id)
        note = methods.get(p.paper_id) or (line.text if line and line.supported else "")
        out.append(f"[{i}] {p.title}: {' '.join(note.split())}" if note else f"[{i}] {p.title}")
    return "\n".join(out)


def renumber(sentences: list[Sentence], mapping: dict[int, int]) -> list[Sentence]:
    """Local `[i]` to the digest's numbers; a run of markers (`[3][1][2]`) is put in order."""

    def run(m: re.Match[str]) -> str:
        return _marks(sorted(mapping.get(int(n), int(n)) for n in re.findall(r"\d+", m.group())))

    out = []
    for s in sentences:
        text = re.sub(r"(?:\[\d+\])+", run, s.text)
        cited = {mapping[c] for c in s.cites if c in mapping}
        out.append(Sentence(text=text, cites=[n for n in parse_citations(text) if n in cited], supported=s.supported))
    return out


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


def _marks(ns: Sequence[int]) -> str:
    return "".join(f"[{n}]" for n in ns)


def _count(n: int) -> str:
    return (_COUNT[n] if n < len(_COUNT) else "many").capitalize()


def stated_by(claim: str, papers: Sequence[Paper], embed: EmbedFn) -> list[int]:
    """1-based positions of the papers whose title or own work states `claim` (phrase mode)."""
    return [i for i, p in enumerate(papers, start=1) if check_claim(claim, p, embed, phrase=True).supported]


def _shared_from_model(body: str, pool: Sequence[Paper], need: int, embed: EmbedFn) -> tuple[Sentence | None, list[Dropped]]:
    dropped: list[Dropped] = []
    for candidate in split_sentences(body)[:2]:
        text = re.sub(r"^shared\s*:\s*", "", claim_body(candidate), flags=re.IGNORECASE).rstrip(" .")
        if not text:
            continue
        if first_person(text):
            dropped.append(Dropped(text=candidate, reason="quotes an abstract in the first person"))
            continue
        by = stated_by(text, pool, embed)
        if len(by) >= need:
            return Sentence(text=f"{text} {_marks(by[:SHARED_CITES])}.", cites=by[:SHARED_CITES], supported=True), dropped
        dropped.append(Dropped(text=candidate, reason=f"stated by {len(by)} of the topic's papers; a shared sentence needs {need}"))
    return None, dropped


def _checked_title(title: str | None, pool: Sequence[Paper], need: int, embed: EmbedFn) -> tuple[str | None, list[Dropped]]:
    """The model's topic name when `need` of the topic's most central papers state it (as for the shared
    sentence: a name that only one member's work states, "Low-rank adaptation" over a topic of sketching
    and sampling papers, is not the topic's); else None (the app's title is used) and why."""
    if not title:
        return None, []
    by = stated_by(title, pool, embed)
    if len(by) >= need:
        return title, []
    return None, [Dropped(text=f"Topic: {title}", reason=f"title stated by {len(by)} of the topic's papers; a title needs {need}")]


def _shared_from_terms(terms: Sequence[str], pool: Sequence[Paper], need: int, embed: EmbedFn) -> Sentence | None:
    """The app's shared sentence: the typical theme term (`topic_labels.themes`) most of the papers state,
    cited to them. A two-word term when one is stated by `need` papers; else a single word in the titles
    of `need` papers that is not `vague` (a lone typical word is often too broad; a title word names a theme)."""
    titles = [p.title for p in pool]
    terms = themes(terms)
    pairs = [t for t in terms if " " in t][:SHARED_TERMS]
    words = [t for t in terms[:SHARED_TERMS] if " " not in t and not vague(t) and sum(written(t, title) is not None for title in titles) >= need]
    term, by = "", []
    for candidates in (pairs, words):
        stated = {term: stated_by(term, pool, embed) for term in candidates}
        term, by = max(stated.items(), key=lambda kv: len(kv[1]), default=("", []))
        if len(by) >= max(need, 2):
            break
    if len(by) < max(need, 2):
        return None
    cites = by[:SHARED_CITES]
    lead = f"{_count(len(by))} papers here work on {term}"
    text = f"{lead} {_marks(cites)}." if len(by) == len(cites) else f"{lead}, among them {_marks(cites)}."
    return Sentence(text=text, cites=cites, supported=True)


def clause_options(paper: Paper, line: Takeaway, subject: str) -> list[str]:
    """The paper's takeaway as a clause headed by its name (a one-word title head such as
    `StreamDiT`) or by `subject` ("another"): short cuts at a clause end first, a cut mid-clause last."""
    name = method_name(paper.title)
    name = name if " " not in name else ""
    source = line.sentence
    cuts = [compress(source, n).rstrip(" .") for n in (MAX_CLAUSE_WORDS, MAX_CLAUSE_WORDS + 6)]
    bodies = [*dict.fromkeys(c for c in cuts if not c.endswith("\u2026")), cuts[0]]
    out = []
    for body in dict.fromkeys(bodies):
        if verb_headed(source):
            who = name if name and name.lower() not in body.lower() else subject
            out.append(f"{who} {body[:1].lower()}{body[1:]}")
        elif name and body.startswith(name):
            out.append(body)
        else:
            out.append(f"in {name or subject + (' paper' if subject != 'one paper' else '')}, {lower_first(body)}")
    return out


def sides(vectors: np.ndarray) -> list[list[int]]:
    """The topic's two sides, 0-based positions in centrality order: 2-means on its papers' vectors
    centred on the topic (what they share drops out, what tells them apart stays); larger side first."""
    if len(vectors) < 2:
        return [list(range(len(vectors)))]
    labels, _ = spherical_kmeans(centred(normalize_rows(np.asarray(vectors, dtype=np.float32))), 2)
    out = [np.flatnonzero(labels == j).tolist() for j in (0, 1)]
    return sorted((s for s in out if s), key=lambda s: (-len(s), s[0]))


def _side_term(term: str, side: Sequence[int], rest: Sequence[int], members: Sequence[Paper], embed: EmbedFn) -> list[int]:
    """1-based positions of `side`'s papers stating `term`, when the share of that side stating it is
    at least twice the other side's (else it is not what tells them apart)."""
    by = [side[i - 1] + 1 for i in stated_by(term, [members[j] for j in side], embed)]
    if not by:
        return []
    others = len(stated_by(term, [members[j] for j in rest], embed)) if rest else 0
    return by if len(by) / len(side) >= 2 * others / max(len(rest), 1) else []


def _contrast(members: Sequence[Paper], split: list[list[int]], shared: str, embed: EmbedFn) -> Sentence | None:
    """`Where they differ: some work on A [..], others on B [..]`: each side's most typical two-word
    theme term (`topic_labels.themes`, not `vague`; else a typical word in at least two of its titles: a title word names a theme) that its own
    papers state clearly more often than the other side's and that the `shared` sentence does not
    already name, cited to the papers that state it."""
    if len(split) < 2:
        return None
    picked: list[tuple[str, list[int]]] = []
    taken = set(re.findall(r"[a-z0-9-]+", shared.lower()))
    for side, rest, ranked in zip(split, split[::-1], ranked_terms([[members[i] for i in s] for s in split], members)):
        fresh = [t for t in specific_themes(ranked) if not taken & set(t.split())]
        titles = [members[i].title for i in side]
        words = [t for t in fresh if " " in t][:CONTRAST_TERMS] + [
            t for t in fresh[:CONTRAST_TERMS] if " " not in t and sum(written(t, title) is not None for title in titles) >= min(2, len(side))
        ]
        found = next(((t, by) for t in words if not any(t in u or u in t for u, _ in picked)
                      and (by := _side_term(t, side, rest, members, embed))), None)
        if found is None:
            return None
        picked.append((found[0], found[1][:SIDE_CITES]))
    (a, by_a), (b, by_b) = picked
    if len(by_a) + len(by_b) < min(SHARED_MIN, len(members)):
        return None
    return Sentence(
        text=f"Where they differ: some work on {a} {_marks(by_a)}, others on {b} {_marks(by_b)}.",
        cites=[*by_a, *by_b], supported=True,
    )


def _example(
    members: Sequence[Paper], split: list[list[int]], lines: dict[str, Takeaway], embed: EmbedFn, lead: str
) -> tuple[Sentence | None, list[Dropped]]:
    """`<lead>X does A [i] and Y does B [j], whereas Z does C [k]`: the checked takeaways of
    the most central papers of each side (two from one side, one from the other), each clause checked
    against its own paper; no sentence when either side has no clause the check supports."""
    dropped: list[Dropped] = []
    chosen: list[list[tuple[str, int]]] = [[], []]
    queues = [[i for i in s if members[i].paper_id in lines and lines[members[i].paper_id].supported] for s in split]
    for side in range(min(len(split), 2)):
        want = EXAMPLE_CLAUSES - 1 if side == 0 else EXAMPLE_CLAUSES - len(chosen[0])
        while queues[side] and len(chosen[side]) < want:
            i = queues[side].pop(0)
            paper, line = members[i], lines[members[i].paper_id]
            subject = _ORDINAL[min(len(chosen[0]) + len(chosen[1]), len(_ORDINAL) - 1)]
            options = clause_options(paper, line, subject)
            clause = next((c for c in options if not first_person(c) and check_claim(c, paper, embed).supported), None)
            if clause is None:
                dropped.append(Dropped(text=f"{options[0]} [{i + 1}].", reason="the cited abstract does not state it as the paper's own work"))
                continue
            chosen[side].append((clause, i + 1))
    if not chosen[0] or not chosen[1]:
        return None, dropped
    first, second = (" and ".join(f"{c} [{n}]" for c, n in part) for part in chosen)
    text = f"{lead}{first}, whereas {second}."
    return Sentence(text=text, cites=[n for part in chosen for _, n in part], supported=True), dropped


@dataclass
class ComposedTopic:
    title: str | None
    sentences: list[Sentence]  # numbered locally: [i] = members[i-1]; all supported
    dropped: list[Dropped]  # sentences and clauses left out, and why
    fallback: bool  # the shared sentence is the app's (the model's was not stated by enough papers)
    called_model: bool


def compose_topic(
    members: Sequence[Paper],
    vectors: np.ndarray,
    lines: dict[str, Takeaway],
    methods: dict[str, str],
    terms: Sequence[str],
    llm_factory: LLMFactory,
    store: Store,
    embed: EmbedFn,
    model_label: str,
    embedder_name: str,
    guard: Guard = no_guard,
) -> ComposedTopic:
    """A topic's summary (see the module docstring); `members` most central first with their paper
    `vectors` (rows in the same order), `terms` most typical first, `methods` the model-extracted
    method of papers that have one."""
    notes = render_topic_notes(members[:PROMPT_PAPERS], lines, methods)
    raw_key = _key(model_label, prompt_version("digest_topic"), notes)
    check_key = _key(raw_key, embedder_name, VERSION, [(p.paper_id, p.content_hash) for p in members], list(terms))
    done = store.cache_get(CHECK_CACHE_KIND, check_key)
    if isinstance(done, dict):
        return ComposedTopic(
            done.get("title"), [Sentence(**s) for s in done["sentences"]],
            [Dropped(**d) for d in done.get("dropped", [])], bool(done["fallback"]), False,
        )
    raw = store.cache_get(TOPIC_CACHE_KIND, raw_key)
    called = False
    if not isinstance(raw, str):
        chain = load_prompt("digest_topic", TOPIC_VARS) | guard(llm_factory) | StrOutputParser()
        raw = guard(lambda: chain.invoke({"papers": notes}))
        called = True
        store.cache_put(TOPIC_CACHE_KIND, raw_key, raw)
    title, body = parse_topic_reply(raw)
    pool = members[:SHARED_POOL]
    need = min(SHARED_MIN, len(members))
    shared, dropped = _shared_from_model(strip_citations(body), pool, need, embed)
    title, left_out = _checked_title(title, pool, need, embed)
    dropped += left_out
    fallback = shared is None
    if shared is None and len(members) >= 2:
        shared = _shared_from_terms(terms, pool, need, embed)
    split = sides(vectors)
    contrast = _contrast(members, split, shared.text if shared else "", embed)
    example, left_out = _example(members, split, lines, embed, "For instance, " if contrast else "Where they differ: ")
    sentences = [s for s in (shared, contrast, example) if s is not None]
    dropped += left_out
    store.cache_put(
        CHECK_CACHE_KIND,
        check_key,
        {
            "title": title, "sentences": [s.model_dump() for s in sentences],
            "dropped": [d.model_dump() for d in dropped], "fallback": fallback,
        },
    )
    return ComposedTopic(title, sentences, dropped, fallback, called)
