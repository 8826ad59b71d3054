"""Bad settings stop a command at once with one line naming the variable, the value and what is allowed.

Issue 17, items 9 and 10: each test here failed before (pydantic's "1 validation error for Settings",
"only 0 KB free" for /proc, an empty data dir taken as the current directory, a bad port found only after
retrieval ran, user:pass and ?token= of a base URL printed by -v and sent as Basic auth).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from tests.conftest import cli_env
from tests.fake_openai import FakeOpenAI


def run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["-v", *args], obj={})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("ASSISTANT_CHROMA_PORT", "abc", "a whole number"),
        ("ASSISTANT_CHROMA_PORT", "70000", "65535"),
        ("ASSISTANT_TOP_K", "0", "at least 1"),
        ("ASSISTANT_LLM_BACKEND", "bogus", "'embedded' or 'openai'"),
        ("ASSISTANT_FETCH_TIMEOUT", "-1", "greater than 0"),
        ("ASSISTANT_LLM_BASE_URL", "http://127.0.0.1:99999/v1", "port"),
        ("ASSISTANT_LLM_BASE_URL", "ftp://example.org/v1", "http"),
    ],
)
def test_a_bad_setting_names_variable_value_and_what_is_allowed(
    name: str, value: str, allowed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env(monkeypatch, tmp_path / "data", "http://127.0.0.1:9/v1", **{name: value})
    code, err = run(["stats"])
    lines = err.strip().splitlines()
    assert code == 2, err
    assert name in lines[-1] and repr(value) in lines[-1] and allowed in lines[-1], lines[-1]
    assert "validation error" not in err


def test_an_invalid_llm_port_is_reported_before_retrieval(
    seeded_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli_env(monkeypatch, seeded_copy, "http://127.0.0.1:99999/v1")
    code, err = run(["ask", "what does ShrinkMatch do?"])
    assert code == 2 and "ASSISTANT_LLM_BASE_URL" in err and "port" in err
    assert "retriev" not in err.lower() and "evidence" not in err.lower()


def test_empty_data_dir_is_an_error_not_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, tmp_path / "data", "http://127.0.0.1:9/v1", ASSISTANT_DATA_DIR="")
    code, err = run(["stats"])
    assert code == 2 and "ASSISTANT_DATA_DIR" in err and "empty" in err
    assert not list(tmp_path.iterdir()), "nothing may be created in the current directory"


def test_data_dir_on_a_virtual_file_system_names_the_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli_env(monkeypatch, tmp_path / "data", "http://127.0.0.1:9/v1", ASSISTANT_DATA_DIR="/proc")
    code, err = run(["stats"])
    assert code == 2 and "ASSISTANT_DATA_DIR='/proc'" in err and "virtual file system" in err
    assert "KB free" not in err


@pytest.mark.parametrize(
    "url",
    ["http://alice:hunter2-pw@{host}/v1", "http://{host}/v1?token=hunter2-pw", "http://{host}/v1#hunter2-pw"],
    ids=["user-pass", "query", "fragment"],
)
def test_base_url_credentials_are_refused_and_never_shown(
    url: str, seeded_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with FakeOpenAI() as fake:
        host = fake.base_url.split("://", 1)[1].split("/", 1)[0]
        cli_env(monkeypatch, seeded_copy, url.format(host=host))
        code, err = run(["ask", "what does ShrinkMatch do?"])
        assert not fake.requests, "nothing may be sent (user:pass would go out as Basic auth)"
    assert code == 2 and "ASSISTANT_LLM_BASE_URL" in err, err
    assert "hunter2" not in err and "hunter2" not in caplog.text
    assert "ASSISTANT_LLM_API_KEY" in err
