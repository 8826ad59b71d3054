"""The CLI contract: one JSON document on stdout with --json, exit codes 0 / 2 / 1, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from tests.conftest import ROOT, SEEDS


def run(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data_dir))
    monkeypatch.chdir(data_dir.parent)  # no stray .env
    result = CliRunner().invoke(cli, args, obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_ingest_json_contract_and_idempotence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    code, out, _ = run(["ingest", str(SEEDS / "000_211f387303ee8c8f.txt"), "--year", "2025", "--json"], data, monkeypatch)
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"files", "parsed", "new", "updated", "unchanged", "skipped", "errors", "skipped_files"}
    assert doc["files"] == 1 and doc["new"] > 0 and doc["errors"] == []
    code, out, _ = run(["ingest", str(SEEDS / "000_211f387303ee8c8f.txt"), "--year", "2025", "--json"], data, monkeypatch)
    again = json.loads(out)
    assert again["new"] == 0 and again["unchanged"] == doc["new"]


def test_search_and_stats_json(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["search", "semi-supervised text spotting", "--k", "5", "--json"], seeded_copy, monkeypatch)
    assert code == 0
    results = json.loads(out)["results"]
    assert len(results) == 5
    assert set(results[0]) == {"paper_id", "title", "score", "dates", "url", "takeaway"}
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    code, out, _ = run(["stats", "--json"], seeded_copy, monkeypatch)
    stats = json.loads(out)
    assert stats["papers"] == 310 and stats["store"] == "embedded" and stats["embedding_model"] == "all-MiniLM-L6-v2"


def test_human_output(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["search", "Nash mirror prox", "--k", "2"], seeded_copy, monkeypatch)
    assert code == 0 and out.startswith(" 1. ") and "Nash" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["search", "x", "--since", "June 1"], "--since"),
        (["search", "x", "--week", "2025-W99"], "ISO week"),
        (["search", "   "], "empty"),
        (["ingest", "/nonexistent/path.txt", "--json"], "/nonexistent/path.txt"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(args, tmp_path / "data", monkeypatch)
    assert code == 2
    assert message in (err + out)


def test_mixed_directory_ingests_good_files_and_reports_bad(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.txt").write_text((SEEDS / "001_c23ba3fdbb37d094.txt").read_text())
    (inbox / "empty.txt").write_text("")
    (inbox / "binary.json").write_bytes(b"\x00\x01\x02garbage\xff")
    (inbox / "noabstract.csv").write_text("title,authors\nA paper,Someone\n")
    code, out, _ = run(["ingest", str(inbox), "--json", "--year", "2025"], tmp_path / "data", monkeypatch)
    doc = json.loads(out)
    assert code == 0 and doc["new"] > 0
    bad = {Path(e["file"]).name for e in doc["errors"]}
    assert {"empty.txt", "binary.json", "noabstract.csv"} <= bad
    assert all(e["reason"] for e in doc["errors"])


def test_only_bad_input_exits_2_and_keeps_store(seeded_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.txt").write_text("")
    code, out, _ = run(["ingest", str(tmp_path / "empty.txt"), "--json"], seeded_copy, monkeypatch)
    assert code == 2 and json.loads(out)["errors"]
    code, out, _ = run(["stats", "--json"], seeded_copy, monkeypatch)
    assert json.loads(out)["papers"] == 310


def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env["ASSISTANT_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", "stats", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["papers"] == 0
    help_text = subprocess.run(
        [sys.executable, "-m", "assistant", "--help"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    ).stdout
    for command in ("ingest", "search", "ask", "stats", "reindex"):
        assert command in help_text


def test_prompts_and_ui_resolve_to_the_checkout_copies() -> None:
    # an installed wheel carries them under assistant/_data/ (proved by .ci/wheel_check.py)
    from assistant.resources import resource_dir

    assert resource_dir("prompts") == ROOT / "prompts" and (resource_dir("prompts") / "qa.md").is_file()
    assert resource_dir("ui") == ROOT / "ui" and (resource_dir("ui") / "app.py").is_file()
