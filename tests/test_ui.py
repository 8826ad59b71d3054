"""The Streamlit front end, driven with `streamlit.testing.v1.AppTest` through the real assistant.

Each test points the app at a private copy of the seeded store and answers through the product's `openai`
back end: the fake OpenAI-compatible server of tests/fake_openai.py (the `chat` fixture), or a dead or
faulty endpoint on 127.0.0.1. The app takes the same code path as with a real endpoint.
"""

from __future__ import annotations

import itertools
import json
import re
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from conftest import ROOT
from digest_fakes import respond_messages
from fake_openai import FakeOpenAI, cut_stream

sys.path.insert(0, str(ROOT / "ui"))
import uikit  # noqa: E402

from assistant.papers import Citation, Sentence  # noqa: E402

APP = ROOT / "ui" / "app.py"
TIMEOUT = 180  # seconds per script run: the first one opens the store and loads the embedder

QUESTION = "How does ShrinkMatch handle uncertain samples?"
SUPPORTED = "ShrinkMatch adaptively seeks a shrunk class space for each uncertain sample [1]."
UNSUPPORTED = "It was tested on the moon with 42 astronauts [1]."
SHRINK_TITLE = "Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning"


@pytest.fixture
def ui_env(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """Env for `Settings()` inside the app: the seeded copy, the shared model cache, no `.env` (cwd = tmp)."""
    from conftest import make_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(seeded_copy))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", str(make_settings(seeded_copy).models_dir))
    st.cache_resource.clear()  # one Assistant per process: never reuse another test's
    st.cache_data.clear()
    yield monkeypatch
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def chat(ui_env: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """The app's chat model: the fake OpenAI-compatible server, reached through the `openai` back end."""
    with FakeOpenAI() as fake:
        use_fake_endpoint(ui_env, fake)
        yield fake


def fake_answers(fake: FakeOpenAI, *answers: str) -> None:
    """The fake endpoint answers chat requests with `answers` in turn (cycling)."""
    replies = itertools.cycle(answers)
    fake.responder = lambda messages: next(replies)


def start(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def text(element: object) -> str:
    """What an alert shows: its Markdown source without the escapes that keep it literal."""
    return re.sub(r"\\(.)", r"\1", element.value)  # type: ignore[attr-defined]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- chat ------------------------------------------------------------------------------------------


def test_chat_answer_has_citation_links_sources_and_status(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    fake_answers(chat, f"{SUPPORTED} {UNSUPPORTED}")
    at = ask(start(), QUESTION)
    text = markdown(at)
    # the citation is a Markdown link whose hover text is the paper's title
    assert f'[\\[1\\]](https://arxiv.org/search/?searchtype=title&query=Shrinking+Class' in text
    assert f'"{SHRINK_TITLE}")' in text
    assert "ShrinkMatch adaptively seeks a shrunk class space" in text
    assert "**Sources**" in text
    # the unsupported sentence is flagged and explained
    assert "⚠ :orange[*It was tested on the moon" in text
    assert any("not supported by the cited abstract" in c.value for c in at.caption)
    # the retrieved papers are shown in an expander, numbered as the model saw them
    assert any(e.label.startswith("Retrieved papers (3)") for e in at.expander)
    assert "Shrinking Class Space for Enhanced Certainty in Semi\\-Supervised Learning" in text
    assert not at.error
    # the sidebar reports the model back end, the store and the corpus
    side = "\n".join(m.value for m in at.sidebar.markdown)
    assert f"openai:fake-model@127.0.0.1:{chat.port}" in side and "embedded" in side
    assert [m.value for m in at.sidebar.metric][:1] == ["310"]


def test_a_citation_of_a_paper_the_model_was_not_shown_is_removed_and_said_so(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    fake_answers(chat, SUPPORTED.replace("[1].", "[1][7]."))
    at = ask(start(), QUESTION)
    assert "ShrinkMatch adaptively seeks a shrunk class space" in markdown(at) and "[7]" not in markdown(at)
    assert any(c.value == "Removed citations of papers the model was not shown: \\[7\\]" for c in at.caption), [c.value for c in at.caption]


def test_follow_up_is_rewritten_with_history_and_clear_resets(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    # answers are consumed in order: first answer, the condensed follow-up query, second answer
    fake_answers(chat, SUPPORTED, "ShrinkMatch reweighting principles for uncertain loss", SUPPORTED)
    at = ask(start(), QUESTION)
    at = ask(at, "And how is the loss weighted?")
    assert any("Searched for: ShrinkMatch reweighting principles" in c.value for c in at.caption)
    assert len([m for m in at.chat_message if m.name == "assistant"]) == 2
    at.button(key="clear_chat").click().run()
    assert not at.chat_message
    assert not at.exception


def test_refusal_shows_as_info_with_closest_papers(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    fake_answers(chat, "NOT_IN_PAPERS")
    at = ask(start(), "What is the boiling point of tungsten on Mars?")
    assert at.info, "a refusal is an st.info"
    assert "do not say" in at.info[0].value
    assert "Closest papers" in at.info[0].value and "[\\[1\\]](" in at.info[0].value
    assert not at.error


def test_unreachable_model_shows_error_and_keeps_evidence(ui_env: pytest.MonkeyPatch) -> None:
    ui_env.setenv("ASSISTANT_LLM_BACKEND", "openai")
    ui_env.setenv("ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    ui_env.setenv("ASSISTANT_LLM_MODEL", "fake-model")
    ui_env.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
    at = ask(start(), QUESTION)
    assert at.error, "a model failure is an st.error"
    assert "could not connect" in text(at.error[0]) and "ASSISTANT_LLM_BASE_URL" in text(at.error[0])
    assert "Traceback" not in text(at.error[0])
    assert any(e.label.startswith("Retrieved papers (3)") for e in at.expander)


def test_stream_cut_midway_shows_error_and_keeps_evidence(ui_env: pytest.MonkeyPatch) -> None:
    with FakeOpenAI() as fake:
        fake.script(cut_stream(chunks=2))
        ui_env.setenv("ASSISTANT_LLM_BACKEND", "openai")
        ui_env.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
        ui_env.setenv("ASSISTANT_LLM_MODEL", "fake-model")
        ui_env.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")
        at = ask(start(), QUESTION)
    assert at.error and "dropped the connection" in text(at.error[0])
    assert any(e.label.startswith("Retrieved papers") for e in at.expander)


# --- library ---------------------------------------------------------------------------------------

JSONL = "\n".join(
    [
        json.dumps(
            {
                "arxiv_id": "2501.00001",
                "title": "Quantum Gardening with <script>alert(1)</script> *Bold* [Agents] $x$",
                "abstract": "We grow quantum gardens with language agents. The agents prune qubits daily and "
                "report a fourfold increase in coherent tomatoes over classical gardening baselines.",
                "date": "2025-01-06",
            }
        ),
        json.dumps(
            {
                "arxiv_id": "2501.00002",
                "title": "Orbital Beekeeping at Scale",
                "abstract": "We study beekeeping in low orbit. Microgravity hives produce more honey per bee than "
                "hives on the ground, and robotic keepers reduce stings by ninety percent.",
                "date": "2025-01-07",
            }
        ),
        "{this line is not json",
    ]
).encode()

PAGE = """Jan 8

Underwater Basket Weaving with Diffusion Models

We train a diffusion model to plan underwater basket weaving. Divers who follow its plans finish
baskets twice as fast as divers who follow printed patterns.
"""


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.main.metric}


def test_upload_ingest_shows_counts_errors_and_is_searchable(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    at = start("library_page.py")
    assert at.button(key="ingest").disabled
    at.file_uploader(key="uploads").set_value(("papers.jsonl", JSONL, "application/json"))
    at.run()
    at.button(key="ingest").click().run()
    assert not at.exception
    got = metrics(at)
    assert (got["files"], got["parsed"], got["new"], got["updated"], got["unchanged"]) == ("1", "2", "2", "0", "0")
    problems = next(e for e in at.expander if e.label == "Problems (1)")
    assert problems.markdown[0].value.startswith("- **papers\\.jsonl, line 3**: ")  # the user's name, not a temp path
    assert got["papers"] == "312"

    at.text_input(key="search_query").input("quantum gardening tomatoes").run()
    text = markdown(at)
    assert "[Quantum Gardening with \\<script\\>alert\\(1\\)\\</script\\> \\*Bold\\* \\[Agents\\] \\$x\\$]" in text
    assert "(https://arxiv.org/abs/2501.00001 " in text
    outside_hover_titles = re.sub(r' "[^"]*"\)', ")", text)  # hover text is an attribute, not markup
    assert "<script>" not in outside_hover_titles.replace("\\<script\\>", "")

    # the date filter excludes it
    import datetime as dt

    at.date_input(key="since").set_value(dt.date(2025, 1, 7)).run()
    assert "2501.00001" not in markdown(at)


def test_paste_ingest_uses_the_year_and_is_idempotent(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    at = start("library_page.py")
    at.text_area(key="pasted").input(PAGE)
    at.number_input(key="year").set_value(2024)
    at.run()
    at.button(key="ingest").click().run()
    got = metrics(at)
    assert (got["parsed"], got["new"]) == ("1", "1")
    at.button(key="ingest").click().run()
    got = metrics(at)
    assert (got["new"], got["unchanged"]) == ("0", "1")
    at.text_input(key="search_query").input("underwater basket weaving").run()
    assert "2024\\-01\\-08" in markdown(at)
    assert not at.error and not at.exception


def test_garbage_upload_lists_the_problem(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    at = start("library_page.py")
    at.file_uploader(key="uploads").set_value(("notes.csv", b"just,some\n,,\n", "text/csv"))
    at.run()
    at.button(key="ingest").click().run()
    assert not at.exception
    assert metrics(at)["new"] == "0"
    assert at.warning, "problems are listed"


# --- compare and digest ------------------------------------------------------------------------------


def use_fake_endpoint(monkeypatch: pytest.MonkeyPatch, fake: FakeOpenAI) -> None:
    """Answer through the real OpenAI-compatible path, with a fake that reads the prompt like a small model."""
    monkeypatch.setenv("ASSISTANT_LLM_BACKEND", "openai")
    monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.base_url)
    monkeypatch.setenv("ASSISTANT_LLM_MODEL", "fake-model")
    monkeypatch.setenv("ASSISTANT_LLM_MAX_RETRIES", "0")


def test_compare_page_shows_checked_table_summary_and_exports(ui_env: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(responder=respond_messages) as fake:
        use_fake_endpoint(ui_env, fake)
        at = start("compare_page.py")
        assert at.button(key="compare_go").disabled
        at.text_input(key="compare_items").input("semi-supervised learning with pseudo labels")
        at.slider(key="compare_n").set_value(3)
        at.run()
        at.button(key="compare_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    text = markdown(at)
    assert "| Paper | Problem | Method | Data / benchmarks | Key result |" in text
    table = next(m.value for m in at.markdown if m.value.startswith("| Paper |"))
    assert len(table.splitlines()) == 2 + 3
    assert '[\\[1\\]](' in table  # every cell cites its paper, as a link
    assert [s.label for s in at.status] == ["Compared 3 papers"]
    assert len(at.get("download_button")) == 4


def test_compare_unknown_ids_is_an_error_with_the_fix(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    at = start("compare_page.py")
    at.text_input(key="compare_items").input("2401.99999 2401.99998").run()
    at.button(key="compare_go").click().run()
    assert not at.exception
    assert at.error and "unknown paper id(s)" in text(at.error[0]) and "assistant search" in text(at.error[0])


def test_digest_page_builds_a_week(ui_env: pytest.MonkeyPatch) -> None:
    with FakeOpenAI(responder=respond_messages) as fake:
        use_fake_endpoint(ui_env, fake)
        at = start("digest_page.py")
        assert at.selectbox(key="digest_week").options == ["2025-W34", "2025-W23", "2025-W11"]
        at.selectbox(key="digest_week").select("2025-W23")
        at.selectbox(key="digest_extract").select("quick")
        at.run()
        at.button(key="digest_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.subheader[0].value.startswith("2025-W23: 54 papers in ")
    text = markdown(at)
    assert "#### 1\\. " in text
    assert "https://arxiv.org/search/?searchtype=title&query=" in text  # summaries cite papers as links
    assert any(e.label.startswith("Papers (") for e in at.expander)
    assert len(at.get("download_button")) == 4


# --- rendering helpers -----------------------------------------------------------------------------


def test_md_escape_neutralises_markdown_html_and_math() -> None:
    assert uikit.md_escape("<b>x</b> *y* [z](u) $a$") == "\\<b\\>x\\</b\\> \\*y\\* \\[z\\]\\(u\\) \\$a\\$"
    assert uikit.md_escape("a\n\nb") == "a b"


def test_only_http_links_are_kept() -> None:
    assert uikit.safe_url("javascript:alert(1)") is None
    assert uikit.safe_url("https://arxiv.org/abs/2501.00001") == "https://arxiv.org/abs/2501.00001"
    assert "(" not in (uikit.safe_url("https://x.org/a (b)") or "")
    link = uikit.paper_link('A "quoted" title', "javascript:alert(1)")
    assert "javascript" not in link and 'A \\"quoted\\" title' in link


def test_linkify_and_unsupported_sentence() -> None:
    cites = [Citation(n=1, paper_id="2501.00001", title="T1", url="https://arxiv.org/abs/2501.00001", supported=True)]
    assert uikit.linkify("Works [1].", cites) == 'Works [\\[1\\]](https://arxiv.org/abs/2501.00001 "T1")\\.'
    assert uikit.linkify("Unknown [7].", cites) == "Unknown \\[7\\]\\."
    md = uikit.sentence_md(Sentence(text="Wrong claim [1].", cites=[1], supported=False), cites)
    assert md.startswith("⚠ :orange[*Wrong claim\\.*]") and "arxiv.org/abs/2501.00001" in md
    unsure = Sentence(text="Rounds by division [1].", cites=[1], unverified=True, quote="It divides weights.")
    md = uikit.sentence_md(unsure, cites)
    assert md.startswith(":gray[Rounds by division\\.]") and "“It divides weights\\.”" in md and "⚠" not in md
    unsure_cite = cites[0].model_copy(update={"supported": False, "unverified": True})
    assert "not verified" in uikit.sources_md([unsure_cite]) and "⚠" not in uikit.sources_md([unsure_cite])


def test_fetch_latest_offline_is_a_clear_error(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    ui_env.setenv("ASSISTANT_HF_API_BASE", f"http://127.0.0.1:{free_port()}/api")
    ui_env.setenv("ASSISTANT_FETCH_RETRIES", "0")
    at = start("library_page.py")
    at.button(key="fetch").click().run()
    assert not at.exception
    assert at.error and "could not reach" in text(at.error[0])
    assert "nothing was changed" in text(at.error[0])


def test_prewarmed_runtime_is_the_one_sessions_get(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    """`assistant ui` opens the store before the first browser asks; that session takes it, not a second one."""
    fake_answers(chat, "ShrinkMatch seeks a shrunk class space [1].")
    warm = uikit.prewarm()
    runtime = warm.result(timeout=60)  # built in the background, its paper table open
    assert uikit.get_runtime() is runtime
    at = start()
    assert at.sidebar.metric[0].value == "310"
    st.cache_resource.clear()  # closes the prewarmed runtime: the next session must get a new one
    assert uikit.get_runtime() is not runtime


HOSTILE = "**PWNED** ![img](http://evil.example/x.png) <b>bold</b> $x^2$"


def _hostile_api() -> tuple[object, str]:
    """A loopback 'Daily Papers API' whose every answer is HTTP 404 with Markdown in its body."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = HOSTILE.encode()
            self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/api"


def test_fetch_error_reasons_render_as_literal_text(ui_env: pytest.MonkeyPatch, chat: FakeOpenAI) -> None:
    """A server's body quoted in an error reason must not render as Markdown (issue 17, item 8)."""
    server, base = _hostile_api()
    try:
        ui_env.setenv("ASSISTANT_HF_API_BASE", base)
        ui_env.setenv("ASSISTANT_FETCH_RETRIES", "0")
        at = start("library_page.py")
        at.button(key="fetch").click().run()
    finally:
        server.shutdown()  # type: ignore[attr-defined]
    assert not at.exception
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("PWNED" in value for value in shown), shown
    for value in shown:
        assert "**PWNED**" not in value and "![img]" not in value and "<b>" not in value, value


def test_startup_error_renders_as_literal_text(ui_env: pytest.MonkeyPatch) -> None:
    """A settings error quoting a value must not render it as Markdown."""
    ui_env.setenv("ASSISTANT_LLM_BACKEND", "**bold**")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
    assert at.error and "'**bold**' is not allowed" in text(at.error[0])
    assert "**bold**" not in at.error[0].value
