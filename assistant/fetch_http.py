"""The HTTP client of `assistant fetch`: retries, a total deadline and a size cap per request.

Used by `assistant.fetch` only. A hostile or broken server must not hang a fetch or fill memory:
each request has one deadline for connect, headers and body together (not per read, so a server
trickling a byte at a time is cut off), the body is streamed and abandoned at the size cap, and
redirects are bounded. Failures are one-line exceptions: `FetchStop` (continuing is pointless) or
`DayFailed` (this response is unusable; other days may work).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx

from assistant.config import Settings
from assistant.errors import ConfigError

log = logging.getLogger(__name__)

# Real APIs redirect once or twice (http -> https, a moved host); more is a loop or not the API.
MAX_REDIRECTS = 5


def _version() -> str:
    # From the installed metadata, like `assistant --version`: an editable install can leave
    # `assistant` a namespace package whose __init__ (and __version__) is never run.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("paper-digest-assistant")
    except PackageNotFoundError:
        return "0+unknown"


USER_AGENT = f"paper-digest-assistant/{_version()}"


class FetchStop(Exception):
    """Continuing is pointless (host unreachable, or it keeps failing); the message is a full phrase."""


class DayFailed(Exception):
    """This day (or page) could not be used; other days may still work."""


class _TooSlow(Exception):
    """The deadline of one attempt passed while the response was still arriving."""


@dataclass(frozen=True)
class Reply:
    """A complete response: status, headers and the whole body (at most the size cap)."""

    status: int
    headers: httpx.Headers
    body: bytes


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent/garbled."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or utc_now())).total_seconds())


def check_base(base: str, setting: str) -> str:
    """`base` without a trailing slash; ConfigError naming `setting` when it is not an http(s) URL."""
    base = base.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"{setting}={base!r} is not an http(s) URL; set it to e.g. https://huggingface.co/api")
    return base


def reason(exc: Exception) -> str:
    """The first line of an exception's message (its type when it has none)."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def snippet(body: bytes, n: int = 60) -> str:
    """The start of a body as a one-line quoted string, for error messages."""
    text = body[:n].decode("utf-8", "replace").strip()
    return repr(text + ("..." if len(body) > n else ""))


class Http:
    """One client with the retry policy: polite User-Agent, backoff on 429/5xx/timeouts, Retry-After
    honoured, at least `min_interval` seconds between requests (arXiv), and the deadline, size and
    redirect guards of every attempt."""

    def __init__(
        self,
        settings: Settings,
        base: str,
        setting: str,
        min_interval: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        self.setting = setting
        self.retries = settings.fetch_retries
        self.backoff = settings.fetch_backoff
        self.max_wait = settings.fetch_max_wait
        self.timeout = settings.fetch_timeout
        self.max_bytes = settings.fetch_max_bytes
        self.min_interval = min_interval
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._last: float | None = None
        self.client = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            transport=httpx.HTTPTransport(retries=1),  # one quick reconnect; refused twice = unreachable
        )

    def __enter__(self) -> Http:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def _throttle(self) -> None:
        if self.min_interval > 0 and self._last is not None:
            wait = self.min_interval - (self.clock() - self._last)
            if wait > 0:
                self.sleep(wait)
        self._last = self.clock()

    def _attempt(self, url: str, params: dict[str, Any]) -> Reply:
        """One request read to the end within the deadline and the size cap."""
        deadline = time.monotonic() + self.timeout
        with self.client.stream("GET", url, params=params) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise self._too_big(url, f"announces {int(declared)} bytes")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise self._too_big(url, "sent more")
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise _TooSlow(f"{size} bytes arrived")
            return Reply(response.status_code, response.headers, b"".join(chunks))

    def _too_big(self, url: str, what: str) -> DayFailed:
        return DayFailed(
            f"{url} {what} than ASSISTANT_FETCH_MAX_BYTES={self.max_bytes} bytes allows: not the API's answer "
            "(raise the setting if it is); nothing was changed for this day"
        )

    def get(self, url: str, params: dict[str, Any]) -> Reply:
        """The response (any status below 500 except 429), after bounded retries.

        Raises FetchStop when the host is unreachable or keeps failing, DayFailed for a response
        that can never be used (a redirect loop, a body over the cap).
        """
        attempt = 0
        while True:
            self._throttle()
            self.requests += 1
            wait: float | None = None
            try:
                response = self._attempt(url, params)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise FetchStop(f"could not reach {self.base}: {reason(exc)}") from exc
            except httpx.UnsupportedProtocol as exc:
                raise FetchStop(f"cannot request {url}: {reason(exc)}") from exc
            except httpx.TooManyRedirects as exc:
                raise DayFailed(
                    f"{url} redirected more than {MAX_REDIRECTS} times (a redirect loop, or not the API): check "
                    f"{self.setting}; nothing was changed for this day"
                ) from exc
            except (httpx.TimeoutException, _TooSlow) as exc:
                problem = f"no complete response within ASSISTANT_FETCH_TIMEOUT={self.timeout:g}s ({reason(exc)})"
            except httpx.TransportError as exc:  # connection dropped mid-body, protocol error, ...
                problem = f"{type(exc).__name__}: {reason(exc)}"
            except httpx.RequestError as exc:  # e.g. a body that cannot be decoded
                raise DayFailed(f"{url}: {type(exc).__name__}: {reason(exc)}; nothing was changed for this day") from exc
            else:
                if response.status != 429 and response.status < 500:
                    return response
                problem = f"HTTP {response.status}"
                if response.status in (429, 503):
                    wait = retry_after(response.headers.get("Retry-After"))
            if wait is None:
                wait = self.backoff * 2**attempt
            if attempt >= self.retries:
                raise FetchStop(f"{self.base} kept failing ({problem} after {attempt + 1} attempts); try again later")
            if wait > self.max_wait:
                raise FetchStop(
                    f"{self.base} asks to wait {wait:.0f}s ({problem}), more than ASSISTANT_FETCH_MAX_WAIT="
                    f"{self.max_wait:.0f}s; try again later"
                )
            log.warning("%s: %s; retrying in %.1fs (%d/%d)", url, problem, wait, attempt + 1, self.retries)
            self.sleep(wait)
            attempt += 1
