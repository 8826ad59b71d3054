"""The chat model factory: one OpenAI-compatible code path for every backend.

`make_chat_model(settings)` returns a LangChain `ChatOpenAI` pointed at the embedded local model
(started on demand by `assistant.local_model`) or at the configured endpoint; its failures surface
as one-line `LLMError`s. Chains, the CLI (`ask`, `doctor`) and the UI call this module.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import re
import socket
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from assistant.config import Settings
from assistant.endpoint import PLACEHOLDER_API_KEY, Endpoint, model_label, openai_endpoint, public_url
from assistant.errors import AssistantError, LLMError

try:  # openai>=3 talks through httpx2 (the same API as httpx); older SDKs through httpx itself
    import httpx2

    _HTTP_MODULES: tuple[Any, ...] = (httpx, httpx2)
except ImportError:  # pragma: no cover - depends on the installed SDK
    _HTTP_MODULES = (httpx,)

_HTTP_ERRORS: tuple[type[Exception], ...] = tuple(m.HTTPError for m in _HTTP_MODULES)
_TIMEOUT_ERRORS: tuple[type[BaseException], ...] = (
    openai.APITimeoutError, TimeoutError, *(m.TimeoutException for m in _HTTP_MODULES)
)
_CUT_ERRORS: tuple[type[Exception], ...] = tuple(
    e for m in _HTTP_MODULES for e in (m.RemoteProtocolError, m.ReadError)
)

log = logging.getLogger(__name__)

DOCTOR_PROMPT = "Say OK"

# Exceptions a model call can raise because of the endpoint (not because of our code):
# SDK errors, raw transport errors while a stream is read, and undecodable bodies.
_ENDPOINT_ERRORS: tuple[type[Exception], ...] = (openai.OpenAIError, *_HTTP_ERRORS, ValueError, KeyError, TypeError)


class _EmptyResponse(ValueError):
    """The endpoint answered 200 with nothing in it."""


def resolve_endpoint(settings: Settings) -> Endpoint:
    """The endpoint `make_chat_model` uses; for `embedded` this starts the local server if needed."""
    if settings.llm_backend == "openai":
        return openai_endpoint(settings)
    if settings.llm_base_url or settings.llm_model:
        log.warning(
            "ASSISTANT_LLM_BASE_URL / ASSISTANT_LLM_MODEL are ignored because ASSISTANT_LLM_BACKEND=embedded; "
            "set ASSISTANT_LLM_BACKEND=openai to use that endpoint"
        )
    from assistant.local_model import get_local_server

    server = get_local_server(settings)
    return Endpoint("embedded", server.base_url, server.model_name, server.api_key, server.context_size)


# --- errors -----------------------------------------------------------------------------------

_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+)")


def _one_line(text: str, secrets: Iterable[str], limit: int = 200) -> str:
    for secret in secrets:
        if secret and secret != PLACEHOLDER_API_KEY:
            text = text.replace(secret, "***")
    text = _KEY_PATTERN.sub("***", text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message.removeprefix(f"Error code: {exc.status_code} - ")


def _endpoint_of(exc: BaseException) -> str | None:
    request = getattr(exc, "request", None)
    if request is None and getattr(exc, "response", None) is not None:
        request = getattr(exc.response, "request", None)  # type: ignore[attr-defined]
    try:
        url = str(request.url) if request is not None else ""
    except RuntimeError:  # httpx raises when an error has no request attached
        return None
    if not url:
        return None
    url = public_url(url)
    return url.removesuffix("/chat/completions")


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from, outermost first."""
    chain = [exc]
    while (nxt := chain[-1].__cause__ or chain[-1].__context__) is not None and nxt not in chain:
        chain.append(nxt)
    return chain


def _connection_problem(exc: BaseException) -> tuple[str, str]:
    """(what went wrong, what to check) for a failed connection."""
    root = _chain(exc)[-1]
    text = str(root).lower()
    if isinstance(root, ConnectionRefusedError) or "refused" in text:
        return "connection refused", "Is the server running?"
    if isinstance(root, socket.gaierror) or "name or service not known" in text or "nodename nor servname" in text:
        return "unknown host name", "Check the host in ASSISTANT_LLM_BASE_URL."
    if "ssl" in text or "certificate" in text:
        return f"TLS error ({root})", "Check the URL scheme (http/https) and the certificate."
    return str(root) or type(root).__name__, "Is the server running?"


def _is_cut(exc: BaseException) -> bool:
    return any(isinstance(e, _CUT_ERRORS) for e in _chain(exc))


def describe_error(
    exc: BaseException,
    *,
    endpoint: str | None = None,
    backend: str = "openai",
    timeout: float | None = None,
    secrets: Iterable[str] = (),
) -> LLMError:
    """Turn an openai/httpx failure into one actionable line naming the endpoint and the setting.

    The message never contains `secrets` (pass the API key) nor anything shaped like a key.
    """
    if isinstance(exc, LLMError):
        return exc
    where = endpoint or _endpoint_of(exc) or "(unknown endpoint)"
    embedded = backend == "embedded"
    subject = f"the embedded model at {where}" if embedded else f"the model endpoint {where}"
    secrets = list(secrets)

    if isinstance(exc, _TIMEOUT_ERRORS):
        within = f"within {timeout:g} s " if timeout else ""
        msg = (
            f"{subject} did not answer {within}(ASSISTANT_LLM_TIMEOUT): it is too slow or stuck; "
            f"raise ASSISTANT_LLM_TIMEOUT or ask with fewer papers"
        )
    elif isinstance(exc, openai.APIStatusError):
        code = exc.status_code
        detail = _one_line(_status_detail(exc), secrets, 160)
        if code in (401, 403):
            what = "rejected the API key" if code == 401 else "refused access"
            fix = (
                "restart the assistant (the embedded server's key changed)"
                if embedded
                else "check ASSISTANT_LLM_API_KEY (or OPENAI_API_KEY)"
            )
            msg = f"{subject} {what} (HTTP {code}: {detail}): {fix}"
        elif code == 404:
            msg = (
                f"{subject} answered HTTP 404 ({detail}): check ASSISTANT_LLM_MODEL and that "
                f"ASSISTANT_LLM_BASE_URL is the API root (usually ending in /v1)"
            )
        elif code == 429:
            msg = (
                f"{subject} is rate-limiting requests (HTTP 429: {detail}) and the retries "
                f"(ASSISTANT_LLM_MAX_RETRIES) ran out: wait a minute, or check the account's quota"
            )
        elif code in (400, 413, 422) and re.search(r"context|too long|too many tokens|exceed", detail, re.I):
            msg = (
                f"the prompt is too long for {subject} (HTTP {code}: {detail}): retrieve fewer papers "
                f"(ASSISTANT_TOP_K) or raise ASSISTANT_LLM_CONTEXT_SIZE"
            )
        elif code >= 500:
            msg = (
                f"{subject} failed with HTTP {code} ({detail}) even after retries "
                f"(ASSISTANT_LLM_MAX_RETRIES): check the server's log"
            )
        else:
            msg = f"{subject} refused the request (HTTP {code}: {detail}); check ASSISTANT_LLM_MODEL"
    elif _is_cut(exc):
        root = _chain(exc)[-1]
        msg = (
            f"{subject} dropped the connection before the answer was complete "
            f"({_one_line(str(root) or type(root).__name__, secrets, 100)}); try again, and check the server's log"
        )
    elif isinstance(exc, openai.APIConnectionError | ConnectionError) or isinstance(exc, _HTTP_ERRORS):
        reason, hint = _connection_problem(exc)
        reason = _one_line(reason, secrets, 120)
        if embedded:
            msg = f"could not connect to {subject}: {reason}. Restart the assistant."
        else:
            msg = f"could not connect to {subject} (ASSISTANT_LLM_BASE_URL): {reason}. {hint}"
    elif isinstance(exc, openai.APIResponseValidationError | ValueError | KeyError | TypeError):
        empty = isinstance(exc, _EmptyResponse) or (isinstance(exc, json.JSONDecodeError) and not exc.doc.strip())
        what = "an empty response" if empty else f"a malformed response ({_one_line(str(exc), secrets, 120)})"
        fix = (
            "restart the assistant"
            if embedded
            else "is ASSISTANT_LLM_BASE_URL an OpenAI-compatible API root (usually ending in /v1)?"
        )
        msg = f"{subject} returned {what}: {fix}"
    else:
        msg = f"{subject} failed: {_one_line(str(exc) or type(exc).__name__, secrets, 160)}"
    return LLMError(_one_line(msg, secrets, 400))


# --- the chat model ----------------------------------------------------------------------------


class AssistantChatModel(ChatOpenAI):
    """`ChatOpenAI` whose failures are `LLMError`s with one clear line (see `describe_error`)."""

    _endpoint: Endpoint | None = PrivateAttr(default=None)

    def _fail(self, exc: BaseException) -> LLMError:
        ep = self._endpoint
        return describe_error(
            exc,
            endpoint=public_url(ep.base_url) if ep else None,
            backend=ep.backend if ep else "openai",
            timeout=self.request_timeout if isinstance(self.request_timeout, int | float) else None,
            secrets=[ep.api_key] if ep else [],
        )

    @contextmanager
    def _converted(self) -> Iterator[None]:
        """The endpoint's failures, raised inside the block, as one `LLMError` (our own bugs pass)."""
        try:
            yield
        except _ENDPOINT_ERRORS as exc:
            raise self._fail(exc) from exc

    def _check_finished(self, stream: _StreamSeen) -> None:
        if stream.finished:
            return
        if stream.chunks == 0:
            raise self._fail(_EmptyResponse("no chunks in the stream"))
        log.warning("the model stream ended without a finish reason; the answer may be truncated")

    def _generate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._converted():
            return super()._generate(*args, **kwargs)

    async def _agenerate(self, *args: Any, **kwargs: Any) -> ChatResult:
        with self._converted():
            return await super()._agenerate(*args, **kwargs)

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        stream = _StreamSeen()
        with self._converted():
            for chunk in super()._stream(*args, **kwargs):
                yield stream.saw(chunk)
        self._check_finished(stream)

    async def _astream(self, *args: Any, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        stream = _StreamSeen()
        with self._converted():
            async for chunk in super()._astream(*args, **kwargs):
                yield stream.saw(chunk)
        self._check_finished(stream)


class _StreamSeen:
    """What a streamed reply has shown so far: how many chunks, and whether one gave a finish reason."""

    def __init__(self) -> None:
        self.chunks, self.finished = 0, False

    def saw(self, chunk: ChatGenerationChunk) -> ChatGenerationChunk:
        self.chunks += 1
        self.finished = self.finished or bool((chunk.generation_info or {}).get("finish_reason"))
        return chunk


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=1)
def _loopback_sync_client() -> Any:
    """One shared keep-alive client for 127.0.0.1 endpoints that ignores proxy variables."""
    return openai.DefaultHttpxClient(trust_env=False)


def _loopback_async_client() -> Any:
    """A proxy-free async client; no keep-alive, since pooled connections die with their event loop."""
    sdk_httpx = next(m for m in _HTTP_MODULES if issubclass(openai.DefaultAsyncHttpxClient, m.AsyncClient))
    limits = sdk_httpx.Limits(max_connections=100, max_keepalive_connections=0)
    return openai.DefaultAsyncHttpxClient(trust_env=False, limits=limits)


def _chat_model(endpoint: Endpoint, settings: Settings, *, max_tokens: int | None = None) -> AssistantChatModel:
    extra: dict[str, Any] = {}
    if _is_loopback(endpoint.base_url):
        # Local endpoints are reached directly, whatever HTTP(S)_PROXY or OPENAI_PROXY say.
        extra["http_client"] = _loopback_sync_client()
        extra["http_async_client"] = _loopback_async_client()
        extra["openai_proxy"] = None
    model = AssistantChatModel(
        base_url=endpoint.base_url,  # always explicit: OPENAI_BASE_URL & co. are never consulted
        api_key=SecretStr(endpoint.api_key),
        model=endpoint.model,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        temperature=settings.llm_temperature,
        max_tokens=max_tokens or settings.llm_max_tokens,
        **extra,
    )
    model._endpoint = endpoint
    return model


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for `settings` (embedded local model or an OpenAI-compatible endpoint)."""
    endpoint = resolve_endpoint(settings)
    log.debug("chat model %s at %s", endpoint.label, public_url(endpoint.base_url))
    return _chat_model(endpoint, settings)


def doctor(settings: Settings) -> dict[str, Any]:
    """Check the configured model end to end with one tiny completion; never raises AssistantError."""
    embedded = settings.llm_backend == "embedded"
    report: dict[str, Any] = {
        "backend": settings.llm_backend,
        "model": None,
        "base_url": "embedded 127.0.0.1" if embedded else None,
        "ok": False,
        "error": None,
        "context_size": None,
        "latency_ms": None,
    }
    try:
        report["model"] = model_label(settings)
        endpoint = resolve_endpoint(settings)
        if not embedded:
            report["base_url"] = public_url(endpoint.base_url)
        report["context_size"] = endpoint.context_size
        model = _chat_model(endpoint, settings, max_tokens=16)
        started = time.perf_counter()
        answer = model.invoke(DOCTOR_PROMPT)
        report["latency_ms"] = round((time.perf_counter() - started) * 1000)
        if not answer.text.strip():
            raise LLMError(f"{endpoint.label} answered with an empty message")
        report["ok"] = True
    except AssistantError as exc:
        report["error"] = str(exc)
    return report
