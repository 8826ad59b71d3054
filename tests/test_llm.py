"""Tests of assistant.llm against the fake OpenAI-compatible server (real HTTP on 127.0.0.1, no network)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from assistant import endpoint as endpoints
from assistant import llm
from assistant.config import Settings
from assistant.errors import ConfigError, LLMError
from assistant.endpoint import model_label
from assistant.llm import describe_error, doctor, make_chat_model, resolve_endpoint
from fake_openai import (  # noqa: F401  (fake_openai is a fixture)
    FakeOpenAI,
    Reply,
    cut_stream,
    empty,
    fake_openai,
    malformed,
    ok,
    rate_limited,
    stall,
    status,
    unauthorized,
)

KEY = "sk-test-SECRET-0123456789abcdef"


def settings_for(fake: FakeOpenAI, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_backend": "openai",
        "llm_base_url": fake.base_url,
        "llm_model": "fake-model",
        "llm_api_key": KEY,
        "llm_timeout": 1.0,
        "llm_max_retries": 0,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any socket connection that is not to 127.0.0.1 / ::1; return the list of addresses used."""
    seen: list[Any] = []
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def check(address: Any) -> None:
        seen.append(address)
        host = address[0] if isinstance(address, tuple) else address
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"connection to {address!r} attempted: only 127.0.0.1 is allowed")

    def connect(self: socket.socket, address: Any) -> None:
        check(address)
        real_connect(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        check(address)
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return seen


# --- the happy path ---------------------------------------------------------------------------


def test_invoke_sends_prompt_key_and_limits(fake_openai: FakeOpenAI) -> None:
    fake_openai.responder = lambda messages: f"echo: {messages[-1]['content']}"
    model = make_chat_model(settings_for(fake_openai, llm_max_tokens=77, llm_temperature=0.0))

    answer = model.invoke("What is attention?")

    assert answer.text == "echo: What is attention?"
    request = fake_openai.chat_requests[-1]
    assert request.messages == [{"role": "user", "content": "What is attention?"}]
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.body is not None
    assert request.body["model"] == "fake-model"
    assert request.body["max_completion_tokens"] == 77
    assert request.body["temperature"] == 0.0


def test_streaming_yields_several_chunks(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(ok("one two three four five"))
    model = make_chat_model(settings_for(fake_openai))

    chunks = [chunk.text for chunk in model.stream("count to five")]

    assert "".join(chunks) == "one two three four five"
    assert len([c for c in chunks if c]) == 5
    assert fake_openai.chat_requests[-1].body["stream"] is True  # type: ignore[index]


def test_async_invoke_and_stream(fake_openai: FakeOpenAI) -> None:
    model = make_chat_model(settings_for(fake_openai))

    async def run() -> tuple[str, str]:
        fake_openai.script(ok("async answer"))
        first = (await model.ainvoke("hi")).text
        fake_openai.script(ok("streamed async answer"))
        second = "".join([c.text async for c in model.astream("hi")])
        return first, second

    assert asyncio.run(run()) == ("async answer", "streamed async answer")


def test_local_endpoint_without_key_uses_placeholder(fake_openai: FakeOpenAI) -> None:
    model = make_chat_model(settings_for(fake_openai, llm_api_key=None))
    model.invoke("hi")
    assert fake_openai.chat_requests[-1].headers["authorization"] == "Bearer not-needed"


# --- faults: one clear line, no key, bounded time ---------------------------------------------


@dataclass(frozen=True)
class Fault:
    reply: Reply
    expected: tuple[str, ...]


FAULTS = {
    "500": Fault(status(500, "boom"), ("HTTP 500", "boom", "ASSISTANT_LLM_MAX_RETRIES")),
    "401": Fault(unauthorized(), ("HTTP 401", "ASSISTANT_LLM_API_KEY")),
    "429": Fault(rate_limited(1), ("HTTP 429", "ASSISTANT_LLM_MAX_RETRIES")),
    "404": Fault(status(404, "model 'x' not found"), ("HTTP 404", "ASSISTANT_LLM_MODEL")),
    "context": Fault(
        status(400, "the request exceeds the available context size"), ("too long", "ASSISTANT_LLM_CONTEXT_SIZE")
    ),
    "stall": Fault(stall(20), ("did not answer within 1 s", "ASSISTANT_LLM_TIMEOUT")),
    "empty": Fault(empty(), ("empty response", "ASSISTANT_LLM_BASE_URL")),
    "malformed": Fault(malformed(), ("malformed response", "ASSISTANT_LLM_BASE_URL")),
    "cut": Fault(cut_stream(), ("dropped the connection before the answer was complete",)),
}


def assert_clear(error: LLMError, fake: FakeOpenAI, expected: tuple[str, ...]) -> None:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    assert KEY not in message and "SECRET" not in message
    assert fake.base_url in message
    for part in expected:
        assert part in message, message


@pytest.mark.parametrize("mode", ["invoke", "stream"])
@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_gives_one_clear_line(fake_openai: FakeOpenAI, name: str, mode: str) -> None:
    fault = FAULTS[name]
    model = make_chat_model(settings_for(fake_openai, llm_timeout=1.0, llm_max_retries=0))
    fake_openai.script(fault.reply)

    started = time.monotonic()
    with pytest.raises(LLMError) as caught:
        if mode == "invoke":
            model.invoke("hi")
        else:
            list(model.stream("hi"))
    elapsed = time.monotonic() - started

    assert_clear(caught.value, fake_openai, fault.expected)
    assert elapsed < 5, f"{name} took {elapsed:.1f} s"


def test_stream_cut_midway_yields_the_start_then_fails(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(cut_stream(chunks=2))
    fake_openai.responder = lambda messages: "alpha beta gamma delta"
    model = make_chat_model(settings_for(fake_openai))

    received: list[str] = []
    with pytest.raises(LLMError, match="dropped the connection"):
        for chunk in model.stream("hi"):
            received.append(chunk.text)

    assert "".join(received) == "alpha beta "


def test_async_fault_is_an_llm_error(fake_openai: FakeOpenAI) -> None:
    model = make_chat_model(settings_for(fake_openai))
    fake_openai.script(status(503, "overloaded"))
    with pytest.raises(LLMError, match="HTTP 503"):
        asyncio.run(model.ainvoke("hi"))


def test_connection_refused_names_endpoint_and_setting() -> None:
    port = closed_port()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, llm_backend="openai", llm_base_url=f"http://127.0.0.1:{port}/v1",
        llm_model="m", llm_api_key=KEY, llm_max_retries=0, llm_timeout=2,
    )
    with pytest.raises(LLMError) as caught:
        make_chat_model(settings).invoke("hi")
    assert str(caught.value) == (
        f"could not connect to the model endpoint http://127.0.0.1:{port}/v1 (ASSISTANT_LLM_BASE_URL): "
        "connection refused. Is the server running?"
    )


def test_key_echoed_by_the_server_is_redacted(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(401, f"Incorrect API key provided: {KEY}"))
    with pytest.raises(LLMError) as caught:
        make_chat_model(settings_for(fake_openai)).invoke("hi")
    assert KEY not in str(caught.value)
    assert "***" in str(caught.value)


def test_credentials_in_base_url_never_shown(fake_openai: FakeOpenAI) -> None:
    url = fake_openai.base_url.replace("http://", "http://user:pa55word@")
    with pytest.raises(ValueError) as refused:  # refused when settings load (issue 17, item 9)
        settings_for(fake_openai, llm_base_url=url)
    assert "pa55word" not in str(refused.value)
    settings = settings_for(fake_openai).model_copy(update={"llm_base_url": url})  # built without validation
    fake_openai.script(status(500))
    with pytest.raises(LLMError) as caught:
        make_chat_model(settings).invoke("hi")
    assert "pa55word" not in str(caught.value)
    assert "pa55word" not in model_label(settings)


# --- retries ----------------------------------------------------------------------------------


def test_retry_after_500_then_success(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(500), ok("recovered"))
    model = make_chat_model(settings_for(fake_openai, llm_max_retries=2))

    started = time.monotonic()
    assert model.invoke("hi").text == "recovered"
    assert time.monotonic() - started < 5
    assert len(fake_openai.chat_requests) == 2


def test_429_retry_after_is_honoured(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(rate_limited(retry_after=1), ok("after the wait"))
    model = make_chat_model(settings_for(fake_openai, llm_max_retries=2, llm_timeout=5))

    started = time.monotonic()
    assert model.invoke("hi").text == "after the wait"
    elapsed = time.monotonic() - started

    first, second = fake_openai.chat_requests
    # The SDK's own first back-off is <= 0.5 s: a gap of ~1 s means Retry-After was used.
    assert second.at - first.at >= 0.9
    assert elapsed < 5


def test_retries_are_bounded(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(status(500), status(500), status(500), ok("too late"))
    model = make_chat_model(settings_for(fake_openai, llm_max_retries=2))
    started = time.monotonic()
    with pytest.raises(LLMError, match="HTTP 500"):
        model.invoke("hi")
    assert len(fake_openai.chat_requests) == 3
    assert time.monotonic() - started < 10


# --- no silent fall-back ----------------------------------------------------------------------


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Environment that would send requests elsewhere if any library consulted it."""
    elsewhere = "http://10.255.255.1:3128"
    for name in ("OPENAI_BASE_URL", "OPENAI_API_BASE"):
        monkeypatch.setenv(name, f"{elsewhere}/v1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, elsewhere)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("LANGSMITH_GATEWAY", "true")
    monkeypatch.setenv("OPENAI_PROXY", elsewhere)


@pytest.mark.usefixtures("hostile_env")
def test_every_connection_goes_to_the_configured_local_endpoint(
    fake_openai: FakeOpenAI, loopback_only: list[Any]
) -> None:
    model = make_chat_model(settings_for(fake_openai))

    assert model.invoke("hi").text == "OK"
    assert "".join(c.text for c in model.stream("hi")) == "OK"

    assert loopback_only, "the guard saw no connection at all"
    assert {address[1] for address in loopback_only} == {fake_openai.port}
    assert len(fake_openai.chat_requests) == 2


@pytest.mark.usefixtures("loopback_only")
def test_openai_backend_without_url_or_key_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ASSISTANT_LLM_API_KEY", raising=False)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, llm_backend="openai", llm_base_url=None, llm_api_key=None
    )
    with pytest.raises(ConfigError) as caught:
        make_chat_model(settings)
    assert "ASSISTANT_LLM_BASE_URL" in str(caught.value)
    assert "ASSISTANT_LLM_API_KEY" in str(caught.value)


def test_base_url_without_model_is_a_config_error(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_MODEL"):
        make_chat_model(settings_for(fake_openai, llm_model=None))
    assert fake_openai.requests == []


def test_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="is not an http"):  # refused when settings load
        Settings(_env_file=None, llm_backend="openai", llm_base_url="127.0.0.1:11434/v1", llm_model="m")  # type: ignore[call-arg]
    settings = Settings(_env_file=None, llm_backend="openai", llm_model="m")  # type: ignore[call-arg]
    settings = settings.model_copy(update={"llm_base_url": "127.0.0.1:11434/v1"})  # built without validation
    with pytest.raises(ConfigError, match="ASSISTANT_LLM_BASE_URL"):
        make_chat_model(settings)


def test_key_alone_means_the_official_api_explicitly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)  # the documented fallback for ASSISTANT_LLM_API_KEY
    monkeypatch.delenv("ASSISTANT_LLM_API_KEY", raising=False)
    settings = Settings(_env_file=None, llm_backend="openai", llm_base_url=None, llm_model=None)  # type: ignore[call-arg]

    endpoint = resolve_endpoint(settings)  # resolves only; no request is made

    assert endpoint.base_url == endpoints.DEFAULT_OPENAI_BASE_URL
    assert endpoint.model == endpoints.DEFAULT_OPENAI_MODEL
    assert model_label(settings) == "openai:gpt-4o-mini@api.openai.com"
    assert KEY not in repr(endpoint)


def test_model_label_for_a_local_server(fake_openai: FakeOpenAI) -> None:
    label = model_label(settings_for(fake_openai, llm_model="qwen2.5:1.5b"))
    assert label == f"openai:qwen2.5:1.5b@127.0.0.1:{fake_openai.port}"
    embedded = Settings(_env_file=None)  # type: ignore[call-arg]
    assert model_label(embedded) == "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m"


# --- the embedded backend goes through the same code path ---------------------------------------


@dataclass
class StubServer:
    base_url: str
    api_key: str
    model_name: str = "qwen2.5-coder-1.5b-instruct-q4_k_m"
    context_size: int = 4096


@pytest.fixture
def embedded_on_fake(fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    from assistant import local_model

    fake_openai.api_key = "random-per-process-key"
    stub = StubServer(fake_openai.base_url, fake_openai.api_key)
    monkeypatch.setattr(local_model, "get_local_server", lambda settings: stub)
    yield fake_openai


def test_embedded_backend_uses_the_local_server_endpoint(embedded_on_fake: FakeOpenAI) -> None:
    settings = Settings(_env_file=None, llm_backend="embedded", llm_api_key=KEY)  # type: ignore[call-arg]
    assert make_chat_model(settings).invoke("hi").text == "OK"
    request = embedded_on_fake.chat_requests[-1]
    assert request.headers["authorization"] == "Bearer random-per-process-key"
    assert request.body["model"] == "qwen2.5-coder-1.5b-instruct-q4_k_m"  # type: ignore[index]


def test_embedded_errors_do_not_point_at_base_url_settings(embedded_on_fake: FakeOpenAI) -> None:
    embedded_on_fake.script(malformed())
    settings = Settings(_env_file=None, llm_backend="embedded", llm_max_retries=0)  # type: ignore[call-arg]
    with pytest.raises(LLMError) as caught:
        make_chat_model(settings).invoke("hi")
    message = str(caught.value)
    assert message.startswith(f"the embedded model at {embedded_on_fake.base_url} returned a malformed response")
    assert "random-per-process-key" not in message


# --- doctor -----------------------------------------------------------------------------------


def test_doctor_ok(fake_openai: FakeOpenAI) -> None:
    report = doctor(settings_for(fake_openai))
    assert report["ok"] is True and report["error"] is None
    assert report["backend"] == "openai"
    assert report["model"] == f"openai:fake-model@127.0.0.1:{fake_openai.port}"
    assert report["base_url"] == fake_openai.base_url
    assert isinstance(report["latency_ms"], int)
    assert fake_openai.last_messages[-1]["content"] == llm.DOCTOR_PROMPT
    assert fake_openai.chat_requests[-1].body["max_completion_tokens"] == 16  # type: ignore[index]


def test_doctor_reports_failures_without_raising(fake_openai: FakeOpenAI) -> None:
    fake_openai.script(unauthorized())
    report = doctor(settings_for(fake_openai))
    assert report["ok"] is False and "HTTP 401" in report["error"] and KEY not in report["error"]

    fake_openai.script(ok("   "))
    report = doctor(settings_for(fake_openai))
    assert report["ok"] is False and "empty" in report["error"]

    report = doctor(Settings(_env_file=None, llm_backend="openai", llm_api_key=None))  # type: ignore[call-arg]
    assert report["ok"] is False and "ASSISTANT_LLM_BASE_URL" in report["error"]


def test_doctor_embedded(embedded_on_fake: FakeOpenAI) -> None:
    report = doctor(Settings(_env_file=None, llm_backend="embedded"))  # type: ignore[call-arg]
    assert report == {
        "backend": "embedded",
        "model": "embedded:qwen2.5-coder-1.5b-instruct-q4_k_m",
        "base_url": "embedded 127.0.0.1",
        "ok": True,
        "error": None,
        "context_size": 4096,
        "latency_ms": report["latency_ms"],
    }


# --- describe_error on its own ----------------------------------------------------------------


def test_describe_error_redacts_and_flattens() -> None:
    error = describe_error(
        RuntimeError(f"weird\nfailure with {KEY} and Bearer abc.def"),
        endpoint="http://127.0.0.1:1234/v1",
        secrets=[KEY],
    )
    message = str(error)
    assert message.startswith("the model endpoint http://127.0.0.1:1234/v1 failed: weird failure with ***")
    assert KEY not in message and "abc.def" not in message and "\n" not in message


def test_describe_error_keeps_llm_errors() -> None:
    original = LLMError("already clear")
    assert describe_error(original) is original


def test_doctor_cli_reports_backend_and_exit_code(
    fake_openai: FakeOpenAI, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from click.testing import CliRunner

    from assistant.cli import cli

    monkeypatch.chdir(tmp_path)  # no stray .env
    for key, value in {
        "ASSISTANT_DATA_DIR": str(tmp_path / "data"),
        "ASSISTANT_LLM_BACKEND": "openai",
        "ASSISTANT_LLM_BASE_URL": fake_openai.base_url,
        "ASSISTANT_LLM_MODEL": "fake-model",
        "ASSISTANT_LLM_API_KEY": KEY,
        "ASSISTANT_LLM_MAX_RETRIES": "0",
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["doctor", "--json"], obj={})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] and report["backend"] == "openai" and report["store"] == "embedded"
    assert report["model"] == f"openai:fake-model@127.0.0.1:{fake_openai.port}" and KEY not in result.output

    fake_openai.script(unauthorized())
    result = CliRunner().invoke(cli, ["doctor"], obj={})
    assert result.exit_code == 1
    assert "FAILED" in result.output and "HTTP 401" in result.output and KEY not in result.output
