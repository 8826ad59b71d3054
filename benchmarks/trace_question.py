"""One chat question traced from the chat page to the checked answer: which project files run, who calls whom.

Drives the real app (`ui/app.py` under Streamlit's AppTest) over the seed store, the model being the
fast fake OpenAI-compatible endpoint of tests/fake_openai.py. A warm-up question of the same kind
first (it loads the embedder, starts the model client, loads the prompt and makes every lazy import),
the conversation cleared, then the traced question, a first question like a new user's: a profiler
records each call that enters a file of `assistant/` or `ui/` while the chat page's `answer_question`
runs. What counts:

* **on the path**: a file whose code runs while that question is answered, from submitting it to
  the drawn answer. Page chrome that every rerun draws (the status sidebar in `ui/app.py`), and
  code that ran only at start-up or for the warm-up (settings, imports, opening the store), is not
  on it: the profiler is on only inside `answer_question`.
* **upward call**: a call from file A into file B where B imports A (directly or through others):
  the data went back up a layer. The target is none. A lambda or nested function that B handed
  down and A calls back (a sort key, say) is B's own step, not an entry.
* **entries**: how often the question enters a file from another file (a generator resumed is
  not a new entry).
* **the question's own path**: the files entered by a call that is handed the question itself
  (its text as an argument, or inside an argument: a list item, a prompt, a chat message),
  followed as data the way a reader follows it; the other files that run are what those steps
  consult (the evidence, the draft, the rendering).

Writes benchmarks/results/trace.md and trace.json, and the trace table of ARCHITECTURE.md (between
its `trace` markers). Run: `python -m benchmarks.trace_question` (about a minute; no shared data).
"""

from __future__ import annotations

import argparse
import ast
import inspect
import os
import shutil
import sys
import tempfile
import threading
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from fake_openai import FakeOpenAI  # noqa: E402  (tests/fake_openai.py: a loopback OpenAI-compatible server)

from benchmarks.results_io import load_average, write_result  # noqa: E402
from benchmarks.seed_store import ensure_seed_store  # noqa: E402

SEED_CACHE = ROOT / ".cache" / "trace-seed"
PACKAGES = ("assistant", "ui")
WARMUP = "What does ShrinkMatch do with uncertain samples?"
QUESTION = "How does ShrinkMatch handle uncertain samples?"
DRAFT = "ShrinkMatch adaptively seeks a shrunk class space for each uncertain sample [1]."
ENTRY = ("ui/chat_page.py", "answer_question")
MARKERS = ("<!-- trace:start -->", "<!-- trace:end -->")


# --------------------------------------------------------------------------- the import graph (static)


def module_files() -> dict[str, str]:
    """Dotted module name -> repo-relative path, for every file of `assistant/` and `ui/`."""
    names: dict[str, str] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if package == "ui":  # the pages import each other by bare name (ui/ is on sys.path)
                names[rel.stem] = str(rel)
                continue
            dotted = ".".join(rel.with_suffix("").parts)
            names[dotted.removesuffix(".__init__")] = str(rel)
    return names


def imports() -> dict[str, set[str]]:
    """File -> the project files it imports anywhere in its text (module level, in functions, for typing)."""
    names = module_files()

    def owner(dotted: str) -> str | None:
        while dotted:
            if dotted in names:
                return names[dotted]
            dotted = dotted.rpartition(".")[0]
        return None

    graph: dict[str, set[str]] = {}
    for rel in set(names.values()):
        found: set[str] = set()
        for node in ast.walk(ast.parse((ROOT / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found |= {owner(f"{node.module}.{a.name}") or owner(node.module) for a in node.names}  # type: ignore[misc]
            elif isinstance(node, ast.Import):
                found |= {owner(a.name) for a in node.names}  # type: ignore[misc]
        graph[rel] = {f for f in found if f and f != rel}
    return graph


def reach(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """File -> every file it imports, directly or through others."""
    out: dict[str, set[str]] = {}
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            f = todo.pop()
            if f not in seen:
                seen.add(f)
                todo += graph.get(f, ())
        out[start] = seen
    return out


# --------------------------------------------------------------------------- the run (dynamic)


class Tracer:
    """A profile hook that records calls entering project files while `ENTRY` is running."""

    def __init__(self) -> None:
        self.prefixes = tuple(str(ROOT / p) + os.sep for p in PACKAGES)
        self.active = 0
        self.order: list[str] = []
        self.calls: Counter[str] = Counter()
        self.edges: Counter[tuple[str, str, str]] = Counter()
        self.carried: Counter[tuple[str, str, str]] = Counter()  # (caller, callee, function) calls handed the question
        self.started: set[FrameType] = set()  # generator frames already entered (held, so ids are not reused)

    def rel(self, frame: FrameType | None) -> str | None:
        name = frame.f_code.co_filename if frame is not None else ""
        return os.path.relpath(name, ROOT) if name.startswith(self.prefixes) else None

    def __call__(self, frame: FrameType, event: str, arg: object) -> None:
        if event not in ("call", "return"):
            return
        here = self.rel(frame)
        if here is None:
            return
        if (here, frame.f_code.co_name) == ENTRY:
            self.active += 1 if event == "call" else -1
            if event == "return":
                return
        if event != "call" or not self.active:
            return
        if frame.f_code.co_flags & 0x20:  # a generator: its first run is the entry, a resume is not
            if frame in self.started:
                return
            self.started.add(frame)
        self.calls[here] += 1
        if here not in self.order:
            self.order.append(here)
        caller = frame.f_back
        while caller is not None and self.rel(caller) is None:
            caller = caller.f_back
        there = self.rel(caller)
        if there is not None and there != here and "<locals>" not in frame.f_code.co_qualname:
            self.edges[(there, here, frame.f_code.co_qualname)] += 1
            if carries_question(frame):
                self.carried[(there, here, frame.f_code.co_qualname)] += 1


def holds_question(value: object, depth: int = 3) -> bool:
    """The question's text, as it is or inside a longer text (a rendered prompt, a message's content),
    or in a list, tuple or dict (a few levels down: `*args` holding the messages, say)."""
    text = getattr(value, "content", value)
    if isinstance(text, str):
        return QUESTION in text
    if depth and isinstance(value, (list, tuple, dict)):
        return any(holds_question(v, depth - 1) for v in (value.values() if isinstance(value, dict) else value))
    return False


def carries_question(frame: FrameType) -> bool:
    """Whether the call is handed the question: one of its arguments (`*args` and `**kwargs` too) holds it."""
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    count += bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    return any(holds_question(frame.f_locals.get(name)) for name in code.co_varnames[:count])


def seed_store() -> Path:
    from assistant.config import Settings

    models = os.environ.get("ASSISTANT_MODEL_CACHE_DIR")
    settings = Settings(_env_file=None, data_dir=SEED_CACHE, **({"model_cache_dir": Path(models)} if models else {}))  # type: ignore[call-arg]
    ensure_seed_store(settings, 2025, progress=False)
    return SEED_CACHE


def run_question() -> Tracer:
    """The app over a copy of the seed store, the warm-up question, then `QUESTION` traced."""
    from streamlit.testing.v1 import AppTest

    work = Path(tempfile.mkdtemp(prefix="trace-"))
    data = work / "data"
    shutil.copytree(seed_store(), data)
    fake = FakeOpenAI(responder=lambda messages: DRAFT).start()
    env = {
        "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_LLM_BACKEND": "openai", "ASSISTANT_LLM_MODEL": "fake-model",
        "ASSISTANT_LLM_BASE_URL": f"http://127.0.0.1:{fake.port}/v1", "ASSISTANT_LLM_API_KEY": "fake-key",
    }
    old_env, old_cwd = dict(os.environ), os.getcwd()
    os.environ.update(env)
    os.chdir(work)  # no `.env` of the checkout is read
    tracer = Tracer()
    try:
        app = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=600).run()
        app.chat_input[0].set_value(WARMUP).run()
        app.button(key="clear_chat").click().run()
        sys.setprofile(tracer)
        threading.setprofile(tracer)
        try:
            app.chat_input[0].set_value(QUESTION).run()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        if app.exception:
            raise SystemExit(f"the app failed: {[e.value for e in app.exception]}")
        if DRAFT.split(" [")[0] not in "\n".join(m.value for m in app.markdown):
            raise SystemExit("the traced question was not answered with the fake model's draft")
    finally:
        fake.close()
        os.chdir(old_cwd)
        os.environ.clear()
        os.environ.update(old_env)
        shutil.rmtree(work, ignore_errors=True)
    return tracer


# --------------------------------------------------------------------------- the report


def summarise(tracer: Tracer) -> dict[str, Any]:
    graph = imports()
    below = reach(graph)
    entered_from: dict[str, Counter[str]] = defaultdict(Counter)
    calls_out: dict[str, set[str]] = defaultdict(set)
    upward = []
    for (caller, callee, name), n in tracer.edges.items():
        entered_from[callee][caller] += n
        calls_out[caller].add(callee)
        if caller in below.get(callee, set()):
            upward.append({"from": caller, "to": callee, "function": name, "calls": n})
    files = []
    for rel in tracer.order:
        functions = sorted({name for (_, callee, name) in tracer.edges if callee == rel})
        files.append({
            "file": rel,
            "lines": len((ROOT / rel).read_text(encoding="utf-8").splitlines()),
            "entered_from": dict(entered_from[rel]),
            "entries": sum(entered_from[rel].values()),
            "calls_into": sorted(calls_out[rel]),
            "functions": functions,
        })
    path: list[dict[str, Any]] = []
    for (caller, callee, name), n in tracer.carried.items():
        step = next((p for p in path if p["file"] == callee), None)
        if step is None:
            path.append(step := {"file": callee, "entered_from": {}, "functions": []})
        step["entered_from"][caller] = step["entered_from"].get(caller, 0) + n
        step["functions"] = sorted({*step["functions"], name})
    path.sort(key=lambda p: tracer.order.index(p["file"]))
    return {
        "question": QUESTION, "entry": ":".join(ENTRY), "files": files, "question_path": path,
        "upward_calls": upward, "load_average": load_average(),
    }


def callers(entered_from: dict[str, int]) -> str:
    return ", ".join(f"`{c}` ({n})" for c, n in sorted(entered_from.items()))


def path_table(result: dict[str, Any]) -> list[str]:
    rows = ["| # | file | entered from (entries) | handed the question by |", "|---|---|---|---|"]
    rows.append(f"| 1 | `{ENTRY[0]}` | (the question is submitted) | `{ENTRY[1]}` |")
    for i, step in enumerate(result["question_path"], start=2):
        names = ", ".join(f"`{n}`" for n in step["functions"])
        rows.append(f"| {i} | `{step['file']}` | {callers(step['entered_from'])} | {names} |")
    return rows


def files_table(result: dict[str, Any]) -> list[str]:
    on_path = {ENTRY[0]} | {p["file"] for p in result["question_path"]}
    rows = ["| # | file | lines | question's own path | entered from (entries) | functions entered |", "|---|---|---|---|---|---|"]
    for i, f in enumerate(result["files"], start=1):
        names = ", ".join(f"`{n}`" for n in f["functions"][:5]) + (" …" if len(f["functions"]) > 5 else "")
        mark = "yes" if f["file"] in on_path else ""
        rows.append(f"| {i} | `{f['file']}` | {f['lines']} | {mark} | {callers(f['entered_from']) or '(the entry)'} | {names} |")
    return rows


def headline(result: dict[str, Any]) -> str:
    steps = 1 + len(result["question_path"])
    return (
        f"**The question itself passes {steps} files; {len(result['files'])} files run while it is answered; "
        f"{len(result['upward_calls'])} upward calls.**"
    )


def render(result: dict[str, Any]) -> list[str]:
    out = [
        "# One chat question, traced",
        "",
        f"Command: `python -m benchmarks.trace_question` · load average {result['load_average']}",
        "",
        f"Question: “{result['question']}”, the first of a conversation on the chat page (AppTest) over the seed "
        "store, after a warm-up question of the same kind; the model is the fake OpenAI-compatible endpoint. "
        f"Counted: the project files whose code runs inside `{result['entry']}` (from the question submitted to "
        "the answer drawn). Not counted: start-up, the warm-up, the status sidebar every rerun draws.",
        "",
        headline(result),
        "",
        "## The question's own path (calls handed the question's text)",
        "",
        *path_table(result),
        "",
        "## Every file that runs",
        "",
        *files_table(result),
    ]
    if result["upward_calls"]:
        out += ["", "## Upward calls", ""] + [
            f"- `{u['from']}` → `{u['to']}`: `{u['function']}` ({u['calls']})" for u in result["upward_calls"]
        ]
    return out


def write_architecture(result: dict[str, Any]) -> None:
    """Rewrite the measured block of ARCHITECTURE.md (between the trace markers)."""
    path = ROOT / "ARCHITECTURE.md"
    text = path.read_text(encoding="utf-8")
    start, end = MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"{path}: the markers {start} and {end} are missing")
    on_path = {ENTRY[0]} | {p["file"] for p in result["question_path"]}
    consulted = [f"`{f['file']}`" for f in result["files"] if f["file"] not in on_path]
    block = [
        start,
        f"Measured by `python -m benchmarks.trace_question` (it rewrites this block; details in "
        f"`benchmarks/results/trace.md`): {headline(result)}",
        "",
        *path_table(result),
        "",
        f"Consulted by those steps: {', '.join(consulted)}.",
        end,
    ]
    head, rest = text.split(start, 1)
    path.write_text(head + "\n".join(block) + rest.split(end, 1)[1], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print the result only")
    args = parser.parse_args(argv)
    result = summarise(run_question())
    markdown = render(result)
    print("\n".join(markdown))
    if not args.no_write:
        write_result("trace", markdown, result)
        write_architecture(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
