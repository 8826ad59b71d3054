"""The layout a newcomer relies on: imports run one way, the store is the bottom owner, long modules say why.

Read from the code's text (every import: module level, inside functions, for typing), with the
same import graph `benchmarks/trace_question.py` uses to find upward calls.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.trace_question import ROOT, imports

PACKAGES = ("assistant/chains/", "assistant/foryou/", "assistant/sources/", "assistant/store/", "ui/")
MAX_LINES = 400


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (the files, the first repeated at the end), or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def unit(path: str) -> str:
    """A package counts as one unit (its modules may import each other); any other file is its own."""
    return next((p for p in PACKAGES if path.startswith(p)), path)


def test_no_import_cycle_between_files() -> None:
    assert cycle(imports()) == []


def test_no_import_runs_back_up_between_packages() -> None:
    """Packages and top-level modules form layers: no package both imports and is imported by the same
    layer above it (the store once imported the personal feed's profile type while the feed imported the
    service: a loop through the store that only lazy imports hid)."""
    graph: dict[str, set[str]] = {}
    for src, targets in imports().items():
        graph.setdefault(unit(src), set()).update(unit(t) for t in targets if unit(t) != unit(src))
    assert cycle(graph) == []


def test_the_store_imports_nothing_above_it() -> None:
    above = ("assistant/chains/", "assistant/foryou/", "assistant/service.py", "assistant/retrieve.py", "ui/", "assistant/cli")
    for src, targets in imports().items():
        if src.startswith("assistant/store/"):
            assert not [t for t in targets if t.startswith(above)], src


def test_long_modules_say_why() -> None:
    """A module over the usual size says why in its docstring ("Longer than ... on purpose")."""
    silent = []
    for folder in ("assistant", "ui", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if len(text.splitlines()) > MAX_LINES and "on purpose" not in text[:4000]:
                silent.append(str(Path(path).relative_to(ROOT)))
    assert silent == []
