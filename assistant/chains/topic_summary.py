"""Topic summaries: one cached compose call per topic group, every sentence citation-checked.

Called by `chains.digest.build_digest`. The prompt sees short per-paper notes (cached
extractions); the reply's title line is parsed by `chains.topic_labels`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.output_parsers import StrOutputParser

from assistant.chains.aspects import Extraction
from assistant.chains.extract import EmbedFn, Guard, LLMFactory, no_guard, prompt_version
from assistant.chains.evidence import Evidence, attach_citations
from assistant.chains.topic_labels import parse_topic_reply
from assistant.chains.support import Dropped, reader_sentences
from assistant.citations import split_sentences
from assistant.papers import Hit, Paper, Sentence
from assistant.prompts import load_prompt
from assistant.store import Store

TOPIC_VARS = frozenset({"papers"})
TOPIC_CACHE_KIND = "digest_topic"
CHECK_CACHE_KIND = "digest_topic_check"
MAX_SENTENCES = 3
MAX_NOTE_CHARS = 200


def _note(paper: Paper, ext: Extraction) -> str:
    def cap(text: str) -> str:
        text = " ".join(text.split())
        return text if len(text) <= MAX_NOTE_CHARS else text[:MAX_NOTE_CHARS].rsplit(" ", 1)[0] + " …"

    parts = [ext.method or ext.problem]
    if ext.source == "model" and ext.result:
        parts.append(f"Result: {ext.result}")
    return f"{paper.title}: " + cap(" ".join(p for p in parts if p).strip())


def render_topic_notes(papers: Sequence[Paper], extractions: dict[str, Extraction]) -> str:
    return "\n".join(f"[{i}] {_note(p, extractions[p.paper_id])}" for i, p in enumerate(papers, start=1))



def _fallback_text(papers: Sequence[Paper], quick: dict[str, Extraction], count: int = 3) -> str:
    """The app's extractive summary: the method sentence of the most central papers (first-person
    quotes are rewritten to name their paper by `reader_sentences`)."""
    parts = []
    for i, paper in enumerate(papers[:count], start=1):
        sentence = (quick[paper.paper_id].method or quick[paper.paper_id].problem or paper.title).rstrip(" .…")
        parts.append(f"{sentence} [{i}].")
    return " ".join(parts)


def renumber(sentences: list[Sentence], mapping: dict[int, int]) -> list[Sentence]:
    out = []
    for s in sentences:
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", s.text)
        out.append(Sentence(text=text, cites=[mapping[c] for c in s.cites if c in mapping], supported=s.supported))
    return out


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:32]


@dataclass
class ComposedTopic:
    title: str | None
    sentences: list[Sentence]  # numbered locally: [i] = prompt_papers[i-1]; all supported
    dropped: list[Dropped]  # the model's sentences left out, and why
    fallback: bool
    called_model: bool


def compose_topic(
    prompt_papers: Sequence[Paper],
    extractions: dict[str, Extraction],
    quick: dict[str, Extraction],
    llm_factory: LLMFactory,
    store: Store,
    embed: EmbedFn,
    model_label: str,
    embedder_name: str,
    guard: Guard = no_guard,
) -> ComposedTopic:
    """One (cached) compose call for a group, then every sentence checked against its cited abstracts."""
    notes = render_topic_notes(prompt_papers, extractions)
    raw_key = _key(model_label, prompt_version("digest_topic"), notes)
    check_key = _key(raw_key, embedder_name)
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
    title, text = parse_topic_reply(raw)
    hits = [Hit(paper=p, score=0.0) for p in prompt_papers]
    evidence = Evidence(hits, [split_sentences(p.abstract) or [p.abstract] for p in prompt_papers])
    sentences: list[Sentence] = []
    dropped: list[Dropped] = []
    if text:
        drafted = " ".join(split_sentences(attach_citations(text, evidence, embed))[:MAX_SENTENCES])
        edited = reader_sentences(drafted, prompt_papers, embed)
        sentences, dropped = edited.sentences, edited.dropped
    fallback = not sentences
    if fallback:
        own = reader_sentences(_fallback_text(prompt_papers, quick), prompt_papers, embed)
        sentences, dropped = own.sentences, dropped + own.dropped
    store.cache_put(
        CHECK_CACHE_KIND,
        check_key,
        {
            "title": title, "sentences": [s.model_dump() for s in sentences],
            "dropped": [d.model_dump() for d in dropped], "fallback": fallback,
        },
    )
    return ComposedTopic(title, sentences, dropped, fallback, called)

