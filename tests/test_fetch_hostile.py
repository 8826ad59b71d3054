"""`assistant fetch` against hostile or broken servers on 127.0.0.1 (issue 17, item 2).

Each day of the fake API has a behaviour: a good one-paper list, a redirect loop, a body trickled
one byte at a time, a body far over the size cap (announced or streamed), or a blank body. The
runs go through the CLI, as a user (or cron) would start them: one line per failed day, no
traceback, and every good day of the run kept.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.fetch_http import MAX_REDIRECTS
from assistant.store import FetchLog


def good_list(day: str) -> bytes:
    """A one-paper daily list in the API's shape (a distinct paper per day)."""
    n = int(day[-2:])
    paper = {
        "id": f"2503.{n:05d}",
        "title": f"Robust Fetching of Daily Lists, Part {n}",
        "summary": f"We study part {n} of fetching daily paper lists from servers that misbehave.",
        "authors": [{"name": "Ada Quill"}],
        "publishedAt": f"{day}T00:00:00.000Z",
    }
    return json.dumps([{"paper": paper, "publishedAt": f"{day}T00:00:00.000Z"}]).encode()


@dataclass
class Hostile:
    """What each day does, and what the server saw."""

    url: str = ""
    behaviour: dict[str, str] = field(default_factory=dict)  # day -> good|loop|trickle|huge|declared|blank
    hits: dict[str, int] = field(default_factory=dict)
    sent: dict[str, int] = field(default_factory=dict)  # body bytes written before the client went away


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        fake: Hostile = self.server.fake  # type: ignore[attr-defined]
        day = dict(parse_qsl(urlsplit(self.path).query)).get("date", "")
        fake.hits[day] = fake.hits.get(day, 0) + 1
        kind = fake.behaviour.get(day, "good")
        try:
            getattr(self, f"_{kind}")(fake, day)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def _head(self, status: int, length: int | None, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if length is not None:
            self.send_header("Content-Length", str(length))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()

    def _good(self, fake: Hostile, day: str) -> None:
        body = good_list(day)
        self._head(200, len(body))
        self.wfile.write(body)

    def _loop(self, fake: Hostile, day: str) -> None:
        self._head(302, 0, {"Location": self.path})  # to itself, forever

    def _trickle(self, fake: Hostile, day: str) -> None:
        body = b"[" + b" " * 38 + b"]"
        self._head(200, len(body))
        for i in range(len(body)):
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
            fake.sent[day] = i + 1
            time.sleep(0.2)

    def _huge(self, fake: Hostile, day: str) -> None:
        """20 MB of whitespace around an empty list, streamed without a length (chunked)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        block = b" " * 65536
        pieces = [b"["] + [block] * 320 + [b"]"]
        for piece in pieces:
            self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            fake.sent[day] = fake.sent.get(day, 0) + len(piece)
        self.wfile.write(b"0\r\n\r\n")

    def _declared(self, fake: Hostile, day: str) -> None:
        self._head(200, 50_000_000)
        self.wfile.write(b"[")  # the rest never comes: the length alone must be refused

    def _blank(self, fake: Hostile, day: str) -> None:
        body = b" \n\t " * 1000
        self._head(200, len(body))
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    fake = Hostile(url=f"http://127.0.0.1:{server.server_port}")
    server.fake = fake  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake
    server.shutdown()
    server.server_close()


def fetch(hostile: Hostile, data: Path, monkeypatch: pytest.MonkeyPatch, *args: str, **env: str) -> tuple[int, dict, str]:
    """`assistant fetch ARGS --json` with the data dir and API at the fake; (exit code, JSON, stderr)."""
    monkeypatch.chdir(data.parent)  # no stray .env
    settings = {
        "ASSISTANT_DATA_DIR": str(data), "ASSISTANT_HF_API_BASE": f"{hostile.url}/api",
        "ASSISTANT_FETCH_BACKOFF": "0", "ASSISTANT_FETCH_RETRIES": "0", **env,
    }
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli, ["fetch", *args, "--json"], obj={}, catch_exceptions=False)
    doc = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, doc, result.stderr


def kept_days(data: Path) -> list[str]:
    raw = data / "raw" / "hf"
    return sorted(p.stem for p in raw.iterdir()) if raw.exists() else []


def test_redirect_loop_is_one_line_and_the_good_days_of_the_run_are_kept(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    hostile.behaviour["2025-03-04"] = "loop"
    code, doc, err = fetch(hostile, data, monkeypatch, "--since", "2025-03-03", "--until", "2025-03-05")
    assert code == 1 and "Traceback" not in err
    assert (doc["days"], doc["fetched"], doc["new"]) == (3, 2, 2)
    [error] = doc["errors"]
    assert error["day"] == "2025-03-04" and "\n" not in error["reason"]
    assert f"redirected more than {MAX_REDIRECTS} times" in error["reason"]
    assert "ASSISTANT_HF_API_BASE" in error["reason"]
    assert hostile.hits["2025-03-04"] == MAX_REDIRECTS + 1  # bounded, and not retried
    assert err.strip().splitlines()[-1].startswith("error: 1 day not fetched: ")
    assert kept_days(data) == ["2025-03-03", "2025-03-05"]
    assert set(FetchLog(data).days("hf")) == {"2025-03-03", "2025-03-05"}
    # the failed day is fetched by the next run, the kept ones are not asked again
    del hostile.behaviour["2025-03-04"]
    code, doc, err = fetch(hostile, data, monkeypatch, "--since", "2025-03-03", "--until", "2025-03-05")
    assert code == 0, err
    assert (doc["fetched"], doc["skipped_days"], doc["new"]) == (1, 2, 1)


def test_a_trickling_server_is_cut_off_at_the_total_deadline(
    hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    hostile.behaviour["2025-03-04"] = "trickle"  # a byte every 0.2 s: each read is quick, the whole takes 8 s
    started = time.monotonic()
    code, doc, err = fetch(
        hostile, data, monkeypatch, "--since", "2025-03-03", "--until", "2025-03-04", ASSISTANT_FETCH_TIMEOUT="1"
    )
    elapsed = time.monotonic() - started
    assert code == 1 and "Traceback" not in err
    assert hostile.sent["2025-03-04"] < 20  # given up long before the body was complete
    assert elapsed < 6  # the day before includes a store open and an embedder load
    assert (doc["fetched"], doc["new"]) == (1, 1)
    reason = next(e["reason"] for e in doc["errors"] if e["day"] == "2025-03-04")
    assert "no complete response within ASSISTANT_FETCH_TIMEOUT=1s" in reason and "\n" not in reason
    assert kept_days(data) == ["2025-03-03"]


@pytest.mark.parametrize("kind", ["huge", "declared"])
def test_a_body_over_the_size_cap_is_refused_and_the_day_not_recorded(
    kind: str, hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    hostile.behaviour["2025-03-03"] = kind
    code, doc, err = fetch(hostile, data, monkeypatch, "--date", "2025-03-03", ASSISTANT_FETCH_MAX_BYTES="1000000")
    assert code == 1 and "Traceback" not in err
    [error] = doc["errors"]
    assert error["day"] == "2025-03-03" and "ASSISTANT_FETCH_MAX_BYTES=1000000" in error["reason"]
    assert hostile.hits["2025-03-03"] == 1  # a too-large answer is not asked for again
    if kind == "huge":
        assert hostile.sent["2025-03-03"] < 20 * 2**20  # the stream was abandoned, not read to the end
    assert kept_days(data) == [] and FetchLog(data).days("hf") == {}


def test_a_blank_body_is_not_a_complete_day(hostile: Hostile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    hostile.behaviour["2025-03-03"] = "blank"
    code, doc, err = fetch(hostile, data, monkeypatch, "--date", "2025-03-03")
    assert code == 1 and doc["fetched"] == 0
    assert "empty body" in doc["errors"][0]["reason"]
    assert kept_days(data) == [] and FetchLog(data).days("hf") == {}
