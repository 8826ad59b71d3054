"""A sentinel API key never leaves the settings: not in logs, error messages, JSON output, exports or the UI.

Both ASSISTANT_LLM_API_KEY and ASSISTANT_EMBEDDING_API_KEY are set to a unique sentinel. The fake
endpoints on 127.0.0.1 *require* that key (so the tests prove it is really configured and sent) and,
in the fault cases, echo it back in their error bodies the way some servers do. Everything a user
or a log file can see is then searched for the sentinel and for a fragment of it.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from click.testing import CliRunner
from streamlit.testing.v1 import AppTest

from assistant.cli import cli
from assistant.config import Settings
from assistant.errors import AssistantError
from assistant.export import render
from assistant.service import Assistant
from digest_fakes import respond_messages
from tests.conftest import ROOT, cli_env
from tests.fake_openai import FakeOpenAI, status, unauthorized

SENTINEL = f"sk-sentinel-{uuid.uuid4().hex}"
FRAGMENT = SENTINEL[12:28]  # 16 hex digits of the sentinel: a partial leak counts too
QUESTION = "How does ShrinkMatch handle uncertain samples?"
WEEK = "2025-W23"


def assert_clean(text: str, where: str) -> None:
    assert SENTINEL not in text and FRAGMENT not in text, f"the API key leaked into {where}: {text[:2000]}"


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as formatted text, with its arguments and exception text."""
    parts = [caplog.text]
    for rec in caplog.records:
        parts.append(rec.getMessage())
        parts.append(repr(rec.args))
        if rec.exc_info and rec.exc_info[1] is not None:
            parts.append(repr(rec.exc_info[1]))
    return "\n".join(parts)


def answer_from_evidence(messages: list[dict[str, Any]]) -> str:
    """Chat answers: the digest/compare fakes, or the title sentence of evidence [1] (cited)."""
    routed = respond_messages(messages)
    if routed != "OK":
        return routed
    import re

    user = str(messages[-1]["content"])
    m = re.search(r"^\[1\] (.+?) \(\d{4}-\d{2}-\d{2}\): (.+?\.)(?: |$)", user, re.M)
    return f"{m.group(2)} [1]" if m else "NOT_IN_PAPERS"


@pytest.fixture
def chat() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(responder=answer_from_evidence, api_key=SENTINEL) as fake:
        yield fake


def key_env(monkeypatch: pytest.MonkeyPatch, data: Path, base_url: str, **extra: str) -> None:
    cli_env(monkeypatch, data, base_url, ASSISTANT_LLM_API_KEY=SENTINEL, ASSISTANT_EMBEDDING_API_KEY=SENTINEL, **extra)


def run_cli(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-v", *args], obj={})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    return result.exit_code, result.stdout, result.stderr


def sent_the_key(fake: FakeOpenAI) -> bool:
    chats = fake.chat_requests
    return bool(chats) and all(
        {k.lower(): v for k, v in r.headers.items()}.get("authorization") == f"Bearer {SENTINEL}" for r in chats
    )


# --------------------------------------------------------------------------- settings themselves


def test_settings_hide_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ASSISTANT_LLM_API_KEY", SENTINEL)
    monkeypatch.setenv("ASSISTANT_EMBEDDING_API_KEY", SENTINEL)
    s = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    assert s.llm_api_key is not None and s.llm_api_key.get_secret_value() == SENTINEL  # it is configured
    for text in (repr(s), str(s), s.model_dump_json(), json.dumps(s.model_dump(mode="json"))):
        assert_clean(text, "the settings' repr/JSON")


# --------------------------------------------------------------------------- CLI: JSON, logs, exports


def test_cli_outputs_exports_and_debug_logs_never_show_the_key(
    seeded_copy: Path, chat: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    key_env(monkeypatch, seeded_copy, chat.base_url)
    seen: list[tuple[str, str]] = []
    for args in (
        ["ask", QUESTION, "--k", "3", "--json"],
        ["ask", QUESTION, "--k", "3"],
        ["search", "semi-supervised text spotting", "--json"],
        ["stats", "--json"],
        ["compare", "semi-supervised learning", "--json"],
    ):
        code, out, err = run_cli(args)
        assert code == 0, (args, err[-2000:])
        seen += [(f"stdout of {args}", out), (f"stderr of {args}", err)]
    assert json.loads(seen[0][1])["citations"], "the answer came back through the keyed endpoint"
    for fmt in ("md", "html", "json", "bib"):
        out_file = tmp_path / f"digest.{fmt}"
        code, out, err = run_cli(["digest", "--week", WEEK, "--extract", "quick", "--format", fmt, "--out", str(out_file)])
        assert code == 0, err[-2000:]
        seen += [(f"digest {fmt} export", out_file.read_text(encoding="utf-8")), (f"digest {fmt} stderr", err)]
        code, out, err = run_cli(["compare", "semi-supervised learning", "--format", fmt])
        assert code == 0, err[-2000:]
        seen.append((f"compare {fmt} export", out))
    from assistant.llm import doctor

    report = doctor(Settings())  # the model check (README: `assistant doctor`)
    assert report["ok"] is True, report
    seen.append(("the doctor report", json.dumps(report, default=str)))
    assert sent_the_key(chat), "the sentinel must really be the key sent to the endpoint"
    assert any("POST" in r.getMessage() or "Request" in r.getMessage() for r in caplog.records), "DEBUG logs ran"
    seen.append(("the DEBUG log", logged(caplog)))
    for where, text in seen:
        assert_clean(text, where)


# --------------------------------------------------------------------------- error messages


@pytest.mark.parametrize(
    "reply",
    [unauthorized(), status(401, f"Incorrect API key provided: {SENTINEL}"), status(500, f"upstream said Bearer {SENTINEL}")],
    ids=["401", "401-echo", "500-echo"],
)
def test_endpoint_errors_never_show_the_key(
    reply: Any, seeded_copy: Path, chat: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    chat.script(reply, reply)
    key_env(monkeypatch, seeded_copy, chat.base_url)
    code, out, err = run_cli(["ask", QUESTION, "--k", "3", "--json"])
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and ("HTTP 401" in errors[0] or "HTTP 500" in errors[0]), err
    assert_clean(err, "the CLI error")

    app = Assistant(Settings())
    with pytest.raises(AssistantError) as caught:
        app.ask(QUESTION, k=3)
    app.close()
    assert_clean(str(caught.value), "the LLMError message")
    assert_clean(logged(caplog), "the DEBUG log")


class EmbeddingsEcho:
    """An OpenAI-compatible /v1/embeddings that rejects every request, echoing the key it got."""

    def __init__(self) -> None:
        outer = self
        self.auth: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                outer.auth.append(auth)
                body = json.dumps({"error": {"message": f"Incorrect API key provided: {auth}", "type": "invalid_request_error"}})
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> EmbeddingsEcho:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"


def test_embeddings_endpoint_error_never_shows_the_key(
    tmp_path: Path, chat: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pages = ROOT / "examples" / "daily-papers"
    with EmbeddingsEcho() as emb:
        key_env(
            monkeypatch, tmp_path / "data", chat.base_url, ASSISTANT_EMBEDDING_BACKEND="openai",
            ASSISTANT_EMBEDDING_BASE_URL=emb.base_url,
        )
        code, out, err = run_cli(["ingest", str(pages / "000_211f387303ee8c8f.txt"), "--year", "2025", "--json"])
    assert emb.auth and all(a == f"Bearer {SENTINEL}" for a in emb.auth), "the embedding key was sent"
    assert code == 1 and out == ""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "ASSISTANT_EMBEDDING" in errors[0], err
    assert_clean(err, "the embeddings error")
    assert_clean(logged(caplog), "the DEBUG log")


# --------------------------------------------------------------------------- the UI


def tree_text(node: Any) -> str:
    """Every protobuf of every element the app rendered (text, labels, values, errors)."""
    parts = [str(node.proto)] if getattr(node, "proto", None) is not None else []
    children = getattr(node, "children", {}) or {}
    for child in children.values():
        parts.append(tree_text(child))
    return "\n".join(parts)


@pytest.fixture
def ui(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    sys.path.insert(0, str(ROOT / "ui"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield monkeypatch
    st.cache_resource.clear()
    st.cache_data.clear()
    sys.path.remove(str(ROOT / "ui"))


@pytest.mark.parametrize("fault", [False, True], ids=["answer", "echoed-401"])
def test_ui_never_shows_the_key(
    fault: bool, ui: pytest.MonkeyPatch, seeded_copy: Path, chat: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_env(ui, seeded_copy, chat.base_url)
    if fault:
        chat.script(status(401, f"Incorrect API key provided: {SENTINEL}"))
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=180).run()
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception, [e.value for e in at.exception]
    texts = [tree_text(at._tree)]
    assert "fake-model" in texts[0] and "Retrieved papers" in texts[0], "the tree walk sees the rendered page"
    if fault:
        assert at.error and "HTTP 401" in at.error[0].value
    else:
        assert not at.error and "[\\[1\\]]" in "\n".join(m.value for m in at.markdown)
    for page in ("library_page.py", "compare_page.py", "digest_page.py"):
        at.switch_page(page).run()
        assert not at.exception, [e.value for e in at.exception]
        texts.append(tree_text(at._tree))
    assert sent_the_key(chat)
    assert_clean("\n".join(texts), "the UI")
    assert_clean(logged(caplog), "the DEBUG log")


def test_exports_of_an_in_process_comparison_never_show_the_key(
    seeded_copy: Path, chat: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_env(monkeypatch, seeded_copy, chat.base_url)
    app = Assistant(Settings())
    comparison = app.compare(["semi-supervised learning"])
    app.close()
    assert sent_the_key(chat)
    for fmt in ("md", "html", "json", "bib"):
        assert_clean(render(comparison, fmt), f"the {fmt} export")
    assert_clean(comparison.model_dump_json(), "the comparison JSON")
