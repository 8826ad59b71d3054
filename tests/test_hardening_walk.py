"""Directory walks that meet hostile trees: unreadable subdirectories, symlink loops, unknown files.

Issue 17, item 5: each test here failed before (an unreadable subdirectory was skipped silently, a
symlink loop was not reported as such, unknown extensions were skipped without a word).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assistant.papers import ParseIssue
from assistant.sources import find_input_files

ROW = '{"title": "A paper", "abstract": "We propose a method."}\n'


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    (root / "a.jsonl").write_text(ROW)
    (root / "sub" / "b.jsonl").write_text(ROW)
    (root / "notes.md").write_text("# notes")
    (root / "x.jsonl").symlink_to("y.jsonl")
    (root / "y.jsonl").symlink_to("x.jsonl")
    return root


def test_unreadable_subdirectory_is_an_error_entry(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.scandir

    def scandir(path: object = ".") -> object:  # root ignores permissions: refuse like a chmod 000 dir
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    files, issues = find_input_files([tree])
    assert tree / "a.jsonl" in files
    [issue] = [i for i in issues if i.file == str(tree / "sub")]
    assert "cannot read the directory" in issue.reason and "Permission denied" in issue.reason


def test_symlink_loop_is_reported_and_the_rest_kept(tree: Path) -> None:
    files, issues = find_input_files([tree, tree / "x.jsonl"])
    assert tree / "a.jsonl" in files and tree / "sub" / "b.jsonl" in files
    assert not {tree / "x.jsonl", tree / "y.jsonl"} & set(files)
    loops = sorted(i.file for i in issues if "symbolic link" in i.reason)
    assert loops == [str(tree / "x.jsonl"), str(tree / "y.jsonl")]


def test_unknown_extensions_are_listed_as_skipped(tree: Path) -> None:
    skipped: list[ParseIssue] = []
    find_input_files([tree], skipped=skipped)
    [entry] = skipped
    assert entry.file == str(tree / "notes.md") and "not a data file" in entry.reason and "--format" in entry.reason
