"""Question answering, the whole pipeline: rewrite a follow-up → retrieve → decide → compose → check → answer.

`answer_events` is the one place a question flows through, top to bottom, as a generator of
events; `Assistant.ask_stream` (CLI `ask`, the chat page) only wires its resources into a `QA`.
The small local model is kept fast and honest: the app decides whether the evidence answers the
question (`answerable.judge`, a calibrated relevance model); if not, it refuses without asking the
model; if so, only the answering papers' closest sentences go into the prompt, the app attaches and
checks citations, and a declined or unsupported draft is replaced by the answering papers' quoted
sentences when the evidence is clear enough to overrule the model (`Verdict.quotes`), else refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable

from assistant.chains.answerable import TermWeights, Verdict, content_stems, judge, numbers_in, paper_texts
from assistant.chains.confirmation import answers_probability
from assistant.chains.evidence import Evidence, attach_citations
from assistant.chains.grounding import check_answer, check_claim
from assistant.chains.grounding_config import GROUNDING
from assistant.chains.one_line import compress
from assistant.chains.routing import Route, classify, compared_items
from assistant.chains.support import short_title
from assistant.citations import is_bare_citation, parse_citations, split_sentences, strip_citations
from assistant.errors import InputError
from assistant.papers import Answer, Citation, Hit, Sentence, Turn
from assistant.prompts import declines, load_prompt, without_decline

if TYPE_CHECKING:  # the comparison chain imports this module
    from assistant.chains.compare import Comparison

EmbedFn = Callable[[list[str]], np.ndarray]
AskEvent = tuple[str, Any]

QA_VARS = frozenset({"evidence", "question"})
CONDENSE_VARS = frozenset({"history", "question"})


def focus_evidence(
    question: str,
    hits: Sequence[Hit],
    embed: EmbedFn,
    per_paper: int,
    term_weights: TermWeights,
    route: Route,
    model_judges: bool = False,
) -> Evidence:
    """Judge the evidence; keep each answering paper's closest sentence, its neighbours and its quotes:
    `per_paper` sentences around the quoted one, plus the app's quotes (`Support.quotes`: a two-part
    question's second answer is often no neighbour), in text order. Dev, 154 (question, paper) pairs:
    the window states the key facts for 76.6%, with the quotes 90.3% (3.6 sentences, not 3). Papers
    that do not answer are not shown. `model_judges`: see `QA.model_judges` (the lower `ask` bar).
    """
    verdict = judge(question, list(hits), embed, term_weights, route, model_judges)
    answering = {s.n: s for s in verdict.answering}
    chosen: list[list[str]] = []
    for n, hit in enumerate(hits, start=1):
        sents = split_sentences(hit.paper.abstract) or [hit.paper.abstract]
        if n not in answering or answering[n].sentence not in sents:
            chosen.append([])
            continue
        i = sents.index(answering[n].sentence)
        start = max(0, min(i - per_paper // 2, len(sents) - per_paper))
        keep = set(range(start, start + per_paper)) | {sents.index(q) for q in answering[n].quotes if q in sents}
        chosen.append([sents[j] for j in sorted(keep) if j < len(sents)])
    return Evidence(list(hits), chosen, verdict)


def render_history(history: Sequence[Turn], max_turns: int = 4) -> str:
    return "\n".join(f"{role}: {strip_citations(text)[:400]}" for role, text in history[-max_turns:])


def condense_chain(llm: BaseChatModel) -> Runnable:
    return load_prompt("condense", CONDENSE_VARS) | llm | StrOutputParser()


_CITATION_RUN = re.compile(r"(\[\d+\])(?:[\s.,;:]*\1){%d,}[\s.,;:]*$" % (GROUNDING.repeated_citations - 1))


def degenerated(draft: str) -> bool:
    """True when the draft ends in the same citation marker `GroundingConfig.repeated_citations` or more times in a row."""
    return _CITATION_RUN.search(draft) is not None


def answer_chain(llm: BaseChatModel) -> Runnable:
    return load_prompt("qa", QA_VARS) | llm.bind(max_tokens=GROUNDING.answer_max_tokens) | StrOutputParser()


def standalone_question(question: str, history: Sequence[Turn], llm: BaseChatModel) -> str:
    """Rewrite a follow-up into a standalone query; keeps the question when there is no history."""
    if not history:
        return question
    rewritten = condense_chain(llm).invoke({"history": render_history(history), "question": question})
    rewritten = rewritten.strip().strip('"').splitlines()[0].strip() if rewritten.strip() else ""
    if not rewritten or declines(rewritten) or len(rewritten) > 300:
        last_user = next((t for r, t in reversed(history) if r == "user"), "")
        return f"{last_user} {question}".strip()
    return rewritten


def quoted(hit: Hit, n: int, quotes: Sequence[str]) -> Sentence:
    """`Title: the quoted sentences [n].`, in the abstract's order: supported by construction."""
    order = split_sentences(hit.paper.abstract)
    body = " ".join(sorted((q for q in quotes if q), key=lambda q: order.index(q) if q in order else 0)).rstrip()
    body = body[:-1] if body[-1:] in ".!?" else body  # (an empty body stays empty)
    return Sentence(text=f"{hit.paper.title}: {body} [{n}].", cites=[n], supported=True)


def extractive_answer(evidence: Evidence, model: str) -> Answer | None:
    """The answer the app writes itself when the model gives nothing usable: the most probable answering
    paper's quotes (`quoted`: its own-work sentences closest to the question), not re-checked. None when
    the evidence does not answer."""
    if evidence.verdict is None or not evidence.verdict.answerable:
        return None
    best = evidence.verdict.answering[0]
    hit = evidence.hits[best.n - 1]
    sentence = quoted(hit, best.n, best.quotes)
    return Answer(answer=sentence.text, refused=False, citations=[citation(best.n, hit, supported=True)], model=model,
                  sentences=[sentence], evidence=evidence.hits, extractive=True)


# --- answers that are not one model draft: "which papers" lists, comparisons asked in the chat ---------
# A list names every answering paper (up to the list size) with one checked line on what it does that
# matters to the question: the paper's own-work sentence closest to the question, compressed to one
# clause like a takeaway and kept only if the support check passes (else quoted as is). A comparison is
# the comparison chain's result turned into an `Answer` whose `[n]` are the compared papers.


def paper_line(hit: Hit, n: int, sentence: str, embed: EmbedFn) -> Sentence:
    """`Title: what it does [n].` — the compressed sentence when the abstract supports it, else the sentence itself."""
    short = compress(sentence).rstrip(" .\u2026")
    quoted = sentence.rstrip().rstrip(".")
    body = short if short and check_claim(short, hit.paper, embed).supported else quoted
    return Sentence(text=f"{short_title(hit.paper.title)}: {body} [{n}].", cites=[n], supported=True)


def paper_list(verdict: Verdict, hits: Sequence[Hit], embed: EmbedFn, model: str) -> Answer:
    """One line per answering paper, in retrieval order (the caller checked that the verdict answers)."""
    picks = sorted(verdict.answering[:GROUNDING.list_size], key=lambda s: s.n)
    sentences = [paper_line(hits[s.n - 1], s.n, s.sentence, embed) for s in picks]
    return Answer(answer="\n".join(f"- {s.text}" for s in sentences), refused=False,
                  citations=[citation(s.n, hits[s.n - 1], True) for s in picks], model=model, sentences=sentences,
                  evidence=list(hits))


def citation(n: int, hit: Hit, supported: bool) -> Citation:
    return Citation(n=n, paper_id=hit.paper.paper_id, title=hit.paper.title, url=hit.paper.link, supported=supported)


def cited_answer(
    sentences: list[Sentence], citations: list[Citation], hits: list[Hit], model: str, removed: Sequence[int] = ()
) -> Answer:
    """Checked sentences as an answer; `hits[i]` is `[i+1]` (a comparison's table row, or the evidence)."""
    return Answer(
        answer=" ".join(s.text for s in sentences),
        refused=False,
        citations=citations,
        model=model,
        sentences=sentences,
        evidence=hits,
        removed_citations=list(removed),
    )


def refusal(question: str, evidence: Evidence) -> str:
    closest = "; ".join(f"{h.paper.title} [{n}]" for n, h in enumerate(evidence.hits, start=1))
    topic = question.strip().rstrip("?.!; ")
    if not evidence.hits:
        return f"The ingested papers do not say: no paper matches “{topic}”."
    return f"The ingested papers do not say ({topic}). Closest papers: {closest}."


def _checked(draft: str, evidence: Evidence, embed: EmbedFn, model: str) -> Answer | None:
    """The draft checked (citations attached first; an unshown number reported removed), or None if no
    sentence is supported or at least not verified (see `GroundingConfig.unverified_probability`)."""
    unshown = [n for n in dict.fromkeys(parse_citations(draft)) if n not in evidence.shown]
    checked = check_answer(attach_citations(draft, evidence, embed), evidence.hits, embed)
    if not any(s.supported or s.unverified for s in checked.sentences):
        return None
    return cited_answer(checked.sentences, checked.citations, evidence.hits, model, list(dict.fromkeys(unshown + checked.removed)))


def restates(draft: str, question: str, hits: Sequence[Hit]) -> bool:
    """True when the draft says nothing the question or the prompt's evidence headers (`Evidence.render`: title, date)
    did not ("Paper [1]: <title> (<date>) [1]." or the question echoed): no content word and no number of its own."""
    said = content_stems(plain := strip_citations(draft)) | {n for n, _ in numbers_in(plain)}
    known = " ".join([question, *(" ".join([h.paper.title, *h.paper.dates]) for h in hits)])
    return not said - content_stems(known) - {n for n, _ in numbers_in(known)}


def finalize_events(
    question: str, raw: str, evidence: Evidence, embed: EmbedFn, model: str, overrule_declines: bool = True,
    confirm: Callable[[Hit], float | None] = lambda hit: None,
) -> Iterator[AskEvent]:
    """Check the model's draft and turn it into an `Answer` the user can trust (the "answer" event; "checking" before the
    model's own check of the best paper, seconds with the packaged model). The verdict decides, not the model:
    evidence that cannot answer gives a refusal naming the closest papers. Evidence that can answer gives the draft
    when a sentence is supported (a decline token next to it does not hide it). When the model declined, answered a
    bare "[1]", restated the question or a title, or wrote nothing the papers support, the best answering paper is
    quoted if the verdict says so (`Verdict.quotes`: its probability reaches the calibrated `quote_bar`; after a
    decline or claims the papers do not state, the model's own check of that one paper, `confirm`, decides when the
    endpoint gives one); a decline is overruled so only with `overrule_declines` (the packaged model's). Else a draft
    that did not decline and is *not verified* (every key term stated, a paraphrase the check cannot confirm, mostly
    right on the hand dev pairs) is shown as such, with the closest sentence quoted. Otherwise: a refusal.
    """
    verdict = evidence.verdict
    answer: Answer | None = None
    if verdict is not None and verdict.answerable:
        draft = raw.strip()
        claims = without_decline(draft)
        wrote = bool(re.search(r"[^\W\d_]{3}", claims)) and not is_bare_citation(claims) and not restates(claims, question, evidence.hits)
        checked = _checked(claims, evidence, embed, model) if wrote else None
        answer = checked if checked is not None and any(s.supported for s in checked.sentences) else None
        declined = declines(draft) and answer is None
        disowned = declined or (wrote and checked is None)  # it said the papers lack it, or claimed what they do not state
        if answer is None and (overrule_declines or not declined):
            best = evidence.hits[verdict.answering[0].n - 1]
            if verdict.asks_model(disowned):
                yield ("checking", best.paper.title)
            if verdict.quotes(disowned, lambda: confirm(best)):
                answer = extractive_answer(evidence, model)
        if answer is None and not declined:  # only "not verified": shown so (the closest sentence quoted), not refused
            answer = checked
    yield ("answer", answer if answer is not None else refused_answer(refusal(question, evidence), evidence.hits, model))


def refused_answer(msg: str, hits: Sequence[Hit], model: str) -> Answer:
    """A refusal saying `msg`; the closest papers are cited as evidence only (none supports an answer)."""
    closest = [citation(n, h, supported=False) for n, h in enumerate(hits, start=1)]
    return Answer(answer=msg, refused=True, citations=closest, model=model, sentences=[Sentence(text=msg, cites=[], supported=False)], evidence=list(hits))


@dataclass(frozen=True)
class QA:
    """The resources a question needs, wired once by `Assistant` (the pipeline owns none of them)."""

    search: Callable[..., list[Hit]]
    """`Retriever.search`: (query, k=, vector=) -> the evidence papers, best first."""
    top_k: int
    """Papers retrieved when the caller names no k (`Settings.top_k`)."""
    embed: EmbedFn
    """The process's one sentence-vector cache: the query, the judge and the support check share it."""
    chat_model: Callable[[], BaseChatModel]
    """The chat model, started on first use (only answerable questions and follow-ups need it)."""
    model_label: str
    per_paper: int
    """Abstract sentences per answering paper shown to the model (`Settings.evidence_sentences`)."""
    term_weights: TermWeights
    """The store's word rarities (`Retriever.term_weights`), a signal of the answerability decision."""
    compare: Callable[..., Comparison]
    """(papers, query=the question) -> the comparison chain's checked table and summary (`chains/compare.py`)."""
    keep: Callable[[list[str]], None]
    """`SentenceCache.keep`: paper texts embedded once per store, not once per process."""
    overrule_declines: bool = True
    """Whether a declined draft may be replaced by quotes (`Settings.overrule_declines`, resolved for the back end)."""

    @property
    def model_judges(self) -> bool:
        """Whether the model decides if the evidence answers: its declines are respected (a capable endpoint),
        so the app asks it, showing it the papers from the relevance model's lower `ask` bar. The packaged
        model, whose declines are overruled, is asked only from the app's `answer` bar."""
        return not self.overrule_declines

    def judged_by_model(self, route: Route) -> bool:
        """`model_judges` for this question: a "which papers" list is the app's own (no model call), so it
        keeps the app's bar."""
        return self.model_judges and route.kind != "which"

    def find(self, query: str, k: int | None, vector: np.ndarray) -> list[Hit]:
        """The evidence papers for `query` (its vector given), `k` or `top_k` of them."""
        return self.search(query, k=k or self.top_k, vector=vector)

    def read(self, hits: Sequence[Hit]) -> None:
        """Have what the judge embeds of the hits at hand (kept in the store, so a later question embeds only itself)."""
        self.keep([t for h in hits for t in paper_texts(h.paper)])


def evidence_for(query: str, k: int | None, qa: QA) -> Evidence:
    """Retrieve and focus the evidence for a standalone question."""
    vector = qa.embed([query])[0]
    hits = qa.find(query, k, vector)
    qa.read(hits)
    route = classify(vector)
    return focus_evidence(query, hits, qa.embed, qa.per_paper, qa.term_weights, route, qa.judged_by_model(route))


def _compared(query: str, vector: np.ndarray, k: int | None, qa: QA) -> tuple[list[Hit], str | None]:
    """The papers a comparison question names, best answering paper per named item, and the first
    item no stored paper answers (None when every item was found). Without two named items: none."""
    items = compared_items(query)
    if len(items) != 2:  # no two named things: answered as a question
        return [], None
    chosen: list[Hit] = []
    for item in items:
        item_vector = qa.embed([item])[0]
        hits = qa.find(item, 3, item_vector)
        qa.read(hits)
        verdict = judge(item, hits, qa.embed, qa.term_weights, classify(item_vector))
        taken = {h.paper.paper_id for h in chosen}
        pick = next((hits[s.n - 1] for s in verdict.answering if hits[s.n - 1].paper.paper_id not in taken), None)
        if pick is None:
            return chosen, item
        chosen.append(pick)
    return chosen, None


def compared_lines(query: str, chosen: Sequence[Hit], qa: QA, route: Route) -> list[Sentence]:
    """Per compared paper: its title and the sentences the app would quote from it for the question."""
    verdict = judge(query, chosen, qa.embed, qa.term_weights, route)
    return [quoted(hit, s.n, s.quotes) for hit, s in zip(chosen, verdict.supports)]


def compare_events(query: str, vector: np.ndarray, k: int | None, qa: QA) -> Iterator[AskEvent]:
    """A comparison asked in the chat: the comparison chain's table as a ("comparison", Comparison) event;
    the answer is `compared_lines` (no paper's fact lost), then the model's checked comparison if it wrote
    one (the app's own repeats the lines). Nothing when < 2 papers were found and every item was."""
    chosen, missing = _compared(query, vector, k, qa)
    if missing is None and len(chosen) < 2:
        return
    evidence = Evidence(chosen, [[] for _ in chosen])
    yield ("evidence", evidence)
    if missing is not None:
        yield ("answer", refused_answer(f"The ingested papers do not cover “{missing}”, so there is nothing to compare it with.", chosen, qa.model_label))
        return
    yield ("model", qa.model_label)
    comparison = qa.compare([h.paper for h in chosen], query=query)
    yield ("comparison", comparison)
    lines = compared_lines(query, chosen, qa, classify(vector))
    sentences = lines + ([] if comparison.fallback else comparison.sentences)
    citations = [citation(n, h, supported=True) for n, h in enumerate(chosen, start=1)]
    yield ("answer", cited_answer(sentences, citations, chosen, qa.model_label, comparison.removed_citations))


def answer_events(question: str, history: Sequence[Turn], k: int | None, qa: QA) -> Iterator[AskEvent]:
    """The pipeline: ("query", str) if a follow-up was rewritten, ("evidence", Evidence) at once, ("model", label),
    ("token", str)... and ("checking", title) (`finalize_events`) when the evidence answers, then ("answer", Answer).

    The router (`routing.classify`) picks the flow: a comparison runs the comparison chain (plus a
    ("comparison", Comparison) event with its table); "which papers" lists every answering paper with
    a checked line, without a model call; any other question is answered by the model from the
    answering papers. Evidence that cannot answer is refused without calling the model. Model
    failures raise LLMError (from the model client) after the evidence was yielded, so callers can
    still show it.
    """
    question = question.strip()
    if not question:
        raise InputError("the question is empty; type a question about the papers")
    query = question
    if history:
        query = standalone_question(question, history, qa.chat_model())
        yield ("query", query)
    vector = qa.embed([query])[0]
    route = classify(vector)
    kind = route.kind
    if kind == "compare":
        compared = compare_events(query, vector, k, qa)
        first = next(compared, None)
        if first is not None:
            yield first
            yield from compared
            return
    hits = qa.find(query, max(k or 0, GROUNDING.list_size) if kind == "which" else k, vector)
    yield ("evidence", Evidence(hits, [[] for _ in hits]))  # shown at once; sentences picked next
    qa.read(hits)
    evidence = focus_evidence(query, hits, qa.embed, qa.per_paper, qa.term_weights, route, qa.judged_by_model(route))
    verdict = evidence.verdict
    if kind == "which" and verdict is not None and verdict.answerable:  # a list, or no paper clearly answers
        yield ("answer", paper_list(verdict, hits, qa.embed, qa.model_label) if verdict.lists else refused_answer(refusal(query, evidence), hits, qa.model_label))
        return
    parts: list[str] = []
    if evidence.hits and verdict is not None and verdict.answerable:
        yield ("model", qa.model_label)
        stream = answer_chain(qa.chat_model()).stream({"evidence": evidence.render(), "question": query})
        for token in stream:
            parts.append(token)
            yield ("token", token)
            if degenerated("".join(parts)):
                stream.close()  # closes the HTTP stream: the model stops generating
                break
    yield from finalize_events(query, "".join(parts), evidence, qa.embed, qa.model_label, qa.overrule_declines,
                               lambda hit: answers_probability(qa.chat_model(), query, hit.paper))
