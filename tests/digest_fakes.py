"""Fakes and synthetic corpora for the compare/digest tests and the digest benchmark.

`respond(prompt)` answers the extract, compare and digest-topic prompts the way a well-behaved
small model would, using only text found in the prompt (so its sentences are supported by the
abstracts). `PromptFake` is a LangChain chat model around it that counts calls; the benchmark
serves the same `respond` through tests/fake_openai.py. `ingested_store`, `private_copy` and
`app_for` are the store set-up the compare, digest and topic-summary tests share (ingest once per
module, a private copy per test because tests write caches).
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant.errors import LLMError
from assistant.papers import Paper
from assistant.service import Assistant
from tests.conftest import make_settings


def _words(text: str, n: int) -> str:
    return " ".join(text.split()[:n]).rstrip(",.;:")


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(text.split())) if s.strip()]


def respond_extract(prompt: str) -> str:
    abstract = prompt.split("Abstract:", 1)[-1].split("The four lines:", 1)[0]
    sents = _sentences(abstract) or ["not stated"]
    method = next((s for s in sents if re.search(r"\bwe (propose|introduce|present)", s, re.I)), sents[min(1, len(sents) - 1)])
    data = next((s for s in sents if re.search(r"\b(benchmark|dataset)", s, re.I)), "")
    return (
        f"Problem: {_words(sents[0], 14)}\n"
        f"**Method:** {_words(method, 14)}\n"
        f"- Data: {_words(data, 12) if data else 'not stated'}\n"
        f"Result: {_words(sents[-1], 14)}"
    )


def respond_topic(prompt: str) -> str:
    """A name from the first title, and a shared line made of the words most of the notes use."""
    notes = re.findall(r"^\[(\d+)\] (.+?)(?:: (.+))?$", prompt.split("Papers:", 1)[-1].split("Topic line")[0], re.M)
    if not notes:
        return "Topic: Misc\nShared: Nothing to say."
    title = " ".join(notes[0][1].split()[:3]).strip(":")
    texts = [f"{t} {n}".lower() for _, t, n in notes]
    pairs = Counter(p for t in texts for p in set(zip(*[iter(_content(t))] * 2)) | set(zip(_content(t), _content(t)[1:])))
    (a, b), _ = max(pairs.items(), key=lambda kv: kv[1], default=(("related", "problems"), 0))
    return f"Topic: {title}\nShared: They all study {a} {b}."


def _content(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z-]{3,}", text) if w not in _COMMON]


_COMMON = frozenset(
    "this that with from into their these those which while paper work works model models propose proposes introduces presents".split()
)


def respond_compare(prompt: str) -> str:
    body = prompt.split("Notes:", 1)[-1]
    out = []
    for n, block in re.findall(r"^\[(\d+)\] [^\n]*\n((?:    [^\n]*\n?)*)", body, re.M):
        method = re.search(r"Method: (.+)", block)
        if method:
            out.append(f"{_words(method.group(1), 16)} [{n}].")
    return " ".join(out) or "NOT_IN_PAPERS"


def respond(prompt: str) -> str:
    """Route a prompt to the matching fake answer."""
    if "The four lines:" in prompt:
        return respond_extract(prompt)
    if "Topic line, then the Shared line" in prompt:
        return respond_topic(prompt)
    if "Comparison (3 to 5 sentences" in prompt:
        return respond_compare(prompt)
    return "OK"


def respond_messages(messages: list[dict[str, Any]]) -> str:
    """`respond` for tests/fake_openai.py (OpenAI-style message dicts)."""
    return respond("\n".join(str(m.get("content", "")) for m in messages))


class PromptFake(BaseChatModel):
    """A chat model that answers with `responder(prompt)` and records every prompt it saw.

    `fail_after`: raise LLMError on that call number (1-based) to simulate an interruption.
    """

    responder: Callable[[str], str] = respond
    prompts: list[str] = Field(default_factory=list)
    fail_after: int | None = None

    @property
    def calls(self) -> int:
        return len(self.prompts)

    @property
    def _llm_type(self) -> str:
        return "prompt-fake"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        if self.fail_after is not None and len(self.prompts) + 1 >= self.fail_after:
            raise LLMError("simulated connection drop")  # what the model client raises
        self.prompts.append(prompt)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.responder(prompt)))])


# ---------------------------------------------------------------------------- synthetic corpus

TOPICS: dict[str, dict[str, Any]] = {
    "video": {
        "problem": "Generating long videos with diffusion models remains difficult because motion drifts and flickers across frames.",
        "method": "We propose {name}, a video diffusion model that {twist} to keep motion temporally consistent.",
        "data": "We evaluate {name} on the UCF-101 and WebVid video generation benchmarks.",
        "result": "{name} improves temporal consistency of generated videos by {x}% over prior video diffusion baselines.",
        "twists": [
            "adds temporal attention between frames",
            "denoises latent video frames with a motion prior",
            "conditions each frame on optical flow",
            "shares noise across neighbouring frames",
            "splits video generation into keyframes and interpolation",
            "trains a causal video transformer",
        ],
        "names": ["FlowDiff", "MotionLatte", "KeyVid", "TempoGen", "DriftFree", "ClipWeaver"],
    },
    "reasoning": {
        "problem": "Large language models still make arithmetic and logical errors on multi-step math reasoning problems.",
        "method": "We propose {name}, a reinforcement learning method that {twist} to improve step-by-step reasoning of language models.",
        "data": "We evaluate {name} on the GSM8K and MATH reasoning benchmarks.",
        "result": "{name} raises math reasoning accuracy of a 7B language model by {x}% on GSM8K.",
        "twists": [
            "rewards verified intermediate steps",
            "samples several chains of thought and votes",
            "trains a process reward model",
            "penalises inconsistent reasoning traces",
            "uses self-generated math problems",
            "distils long chains of thought into short ones",
        ],
        "names": ["StepRL", "VoteMath", "ProcRM", "ConsistCoT", "SelfMath", "ShortCoT"],
    },
    "robots": {
        "problem": "Robot manipulation policies trained in simulation often fail on real robot arms because of the sim-to-real gap.",
        "method": "We propose {name}, a robot learning policy that {twist} for dexterous manipulation with a real robot arm.",
        "data": "We evaluate {name} on real robot grasping and the RLBench manipulation benchmark.",
        "result": "{name} increases real robot grasp success by {x}% over simulation-only policies.",
        "twists": [
            "randomises simulated physics",
            "learns from human teleoperation videos",
            "fuses touch and vision sensors",
            "plans grasps with a diffusion policy",
            "adapts online from failed grasps",
            "uses a vision-language-action model",
        ],
        "names": ["GraspFormer", "TeleoPolicy", "TactileNet", "DiffGrasp", "AdaptArm", "VLAbot"],
    },
}


def topic_paper(topic: str, i: int, day: str, arxiv_prefix: str = "2401", upvotes: int | None = None) -> Paper:
    """Paper `i` of a planted topic, listed on `day` (ids are stable per topic and index)."""
    spec = TOPICS[topic]
    name = spec["names"][i % len(spec["names"])]
    twist = spec["twists"][i % len(spec["twists"])]
    x = 3 + 2 * i
    fields = {"name": name, "twist": twist, "x": x}
    abstract = " ".join(spec[k].format(**fields) for k in ("problem", "method", "data", "result"))
    number = {"video": 100, "reasoning": 200, "robots": 300}[topic] + i
    return Paper(
        paper_id=f"{arxiv_prefix}.{number:05d}",
        title=f"{name}: {twist.capitalize()} for {topic}",
        abstract=abstract,
        authors=[f"Ada {name}son", "Bo Li"],
        dates=[day],
        published=f"{day}T12:00:00Z",
        upvotes=upvotes if upvotes is not None else 10 + i,
    )


# The planted corpus used by the compare/digest tests: ISO week 2024-W01 (2024-01-01..07) has
# video x5, reasoning x6, robots x4; 2023-W52 has video x6 (one on Sunday 2023-12-31, just before
# 2024-W01) and reasoning x1; 2024-W02 has one robots paper (Monday 2024-01-08); 2023-W51 one video.
THIS_WEEK = [("video", 5), ("reasoning", 6), ("robots", 4)]
LAST_WEEK = [("video", 5), ("reasoning", 1)]


def corpus_papers() -> list[Paper]:
    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-07"]
    papers = [topic_paper(t, i, days[i % len(days)]) for t, n in THIS_WEEK for i in range(n)]
    papers += [topic_paper(t, i, "2023-12-27", "2312") for t, n in LAST_WEEK for i in range(n)]
    edge_last = topic_paper("video", 5, "2023-12-31", "2312")  # Sunday of 2023-W52
    edge_next = topic_paper("robots", 4, "2024-01-08", "2402")  # Monday of 2024-W02
    older = topic_paper("video", 5, "2023-12-24", "2311")  # 2023-W51
    return [*papers, edge_last, edge_next, older]


def planted_topic(paper_id: str) -> str:
    """The planted topic of a corpus paper id (its number's hundreds digit)."""
    return {"1": "video", "2": "reasoning", "3": "robots"}[paper_id.split(".")[1][2]]


# ---------------------------------------------------------------------------- stores for the tests


def ingested_store(root: Path, papers: Sequence[Paper] | None = None) -> Path:
    """A data dir under `root` holding `papers` (default: the planted corpus), ingested once."""
    data = root / "data"
    app = Assistant(make_settings(data), chat_model=PromptFake())
    app.ingest_papers(list(papers) if papers is not None else corpus_papers(), progress=False)
    app.close()
    return data


def private_copy(data: Path, dest: Path) -> Path:
    """A copy of a module's store for one test: tests write caches, and injected fakes share one cache key."""
    shutil.copytree(data, dest)
    return dest


def app_for(data: Path, fake: PromptFake | None = None) -> Assistant:
    """The app on `data` with `fake` (default: a `PromptFake` answering with `respond`)."""
    return Assistant(make_settings(data), chat_model=fake if fake is not None else PromptFake())
