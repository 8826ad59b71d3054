"""`assistant fetch` against a local stand-in for the HF and arXiv APIs on 127.0.0.1.

The server replays the verbatim daily-papers responses in ../shared/data (a day without a sample
is an empty list, like a weekend) and pages a hand-made Atom feed; scripted failures cover 429,
5xx, truncated bodies and a closed port. Real local embedder, few papers.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.config import Settings, load_settings
from assistant.errors import FetchError, InputError
from assistant.fetch import (
    CATCH_UP_DAYS,
    FetchReport,
    fetch_papers,
    latest_days,
    parse_categories,
)
from assistant.fetch_http import USER_AGENT, retry_after
from assistant.periods import period_days
from assistant.service import Assistant
from assistant.sources.arxiv_atom import parse_atom
from assistant.store import FetchLog
from tests.conftest import make_settings, shared_data

CONTRACT = {"days", "fetched", "skipped_days", "new", "updated", "errors"}
ATOM_SAMPLE = Path(__file__).parent / "data" / "arxiv_sample.atom"
NS = {"atom": "http://www.w3.org/2005/Atom", "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}
W10 = [f"2025-03-{d:02d}" for d in range(3, 10)]  # ISO week 2025-W10; only 2025-03-05 has a sample


@dataclass
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float


@dataclass
class FakeApi:
    """State of the local server: what it serves, what it was asked."""

    samples: Path
    url: str = ""
    requests: list[Request] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)  # day -> body replacing the sample
    script: dict[str, list[tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)  # served first

    def hf_body(self, day: str) -> bytes:
        if day in self.bodies:
            return self.bodies[day]
        path = self.samples / f"{day}.json"
        return path.read_bytes() if path.exists() else b"[]"

    def days_requested(self) -> list[str]:
        return [r.query.get("date", "") for r in self.requests if r.path == "/api/daily_papers"]

    def atom_page(self, query: dict[str, str]) -> bytes:
        """The sample feed filtered like arXiv would (categories, submittedDate range), then paged."""
        ET.register_namespace("", NS["atom"])
        ET.register_namespace("opensearch", NS["opensearch"])
        root = ET.fromstring(ATOM_SAMPLE.read_bytes())
        search = query["search_query"]
        cats = set(re.findall(r"cat:([\w.\-]+)", search))
        first, last = re.search(r"submittedDate:\[(\d{8})\d{4} TO (\d{8})\d{4}\]", search).groups()  # type: ignore[union-attr]
        entries = root.findall("atom:entry", NS)
        for entry in entries:
            root.remove(entry)
        keep = [
            e for e in entries
            if first <= e.findtext("atom:published", "", NS)[:10].replace("-", "") <= last
            and cats & {c.get("term") for c in e.findall("atom:category", NS)}
        ]
        keep.sort(key=lambda e: e.findtext("atom:published", "", NS))
        start, size = int(query["start"]), int(query["max_results"])
        root.find("opensearch:totalResults", NS).text = str(len(keep))  # type: ignore[union-attr]
        root.find("opensearch:startIndex", NS).text = str(start)  # type: ignore[union-attr]
        root.extend(keep[start : start + size])
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        api: FakeApi = self.server.api  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query))
        api.requests.append(Request(url.path, query, dict(self.headers), time.monotonic()))
        headers: dict[str, str] = {}
        if url.path == "/api/daily_papers":
            day = query.get("date", "")
            if api.script.get(day):
                status, headers, body = api.script[day].pop(0)
            else:
                status, body = 200, api.hf_body(day)
            kind = "application/json"
        elif url.path == "/arxiv/query":
            status, body, kind = 200, api.atom_page(query), "application/atom+xml"
        else:
            status, body, kind = 404, b'{"error": "not found"}', "application/json"
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApi]:
    samples = shared_data("hf_daily_papers", "raw_samples")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    fake = FakeApi(samples=samples, url=f"http://127.0.0.1:{server.server_port}")
    server.api = fake  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def settings_for(tmp_path: Path, api: FakeApi, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "hf_api_base": f"{api.url}/api", "arxiv_api_base": f"{api.url}/arxiv", "arxiv_delay": 0, "fetch_backoff": 0,
    }
    return make_settings(tmp_path / "data", **{**values, **overrides})


def run(args: list[str], data: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, str, str]:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_FETCH_BACKOFF", "0")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(data.parent)  # no stray .env
    result = CliRunner().invoke(cli, args, obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def never_opened() -> Assistant:
    raise AssertionError("the store was opened although nothing had to be ingested")


# ---------------------------------------------------------------------------- HF daily lists


def test_fetch_a_day_cli_json_contract_raw_copy_and_user_agent(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    code, out, err = run(["fetch", "--date", "2024-05-28", "--json"], data, monkeypatch, ASSISTANT_HF_API_BASE=f"{api.url}/api")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == CONTRACT
    assert doc == {"days": 1, "fetched": 1, "skipped_days": 0, "new": 15, "updated": 0, "errors": []}
    assert (data / "raw" / "hf" / "2024-05-28.json").read_bytes() == (api.samples / "2024-05-28.json").read_bytes()
    assert api.days_requested() == ["2024-05-28"]
    assert api.requests[0].headers["User-Agent"] == USER_AGENT
    assert re.fullmatch(r"paper-digest-assistant/\d+\.\d+\.\d+.*", USER_AGENT)
    code, out, _ = run(["stats", "--json"], data, monkeypatch)
    stats = json.loads(out)
    assert (stats["papers"], stats["first_date"], stats["last_date"]) == (15, "2024-05-28", "2024-05-28")
    code, out, _ = run(["fetch", "--date", "2024-05-28"], data, monkeypatch, ASSISTANT_HF_API_BASE=f"{api.url}/api")
    assert code == 0 and "1 day, 0 fetched, 1 already fetched (--refresh fetches them again)" in out
    assert len(api.requests) == 1
    # the kept raw file rebuilds the same store offline
    code, out, _ = run(["ingest", str(data / "raw" / "hf"), "--json"], tmp_path / "rebuilt", monkeypatch)
    assert code == 0 and json.loads(out)["new"] == 15


def test_week_then_rerun_fetches_nothing_then_refresh_updates_upvotes(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api)
    app = Assistant(settings)
    report = app.fetch(week="2025-W10")
    assert report.model_dump() == {"days": 7, "fetched": 7, "skipped_days": 0, "new": 12, "updated": 0, "errors": []}
    assert api.days_requested() == W10
    assert sorted(p.name for p in (settings.data_dir / "raw" / "hf").iterdir()) == [f"{d}.json" for d in W10]
    assert json.loads((settings.data_dir / "raw" / "hf" / "2025-03-08.json").read_text()) == []
    stored = app.store.stats()
    assert (stored["papers"], stored["first_date"], stored["last_date"]) == (12, "2025-03-05", "2025-03-05")

    again = fetch_papers(settings, never_opened, week="2025-W10")  # must not even open the store
    assert again.model_dump() == {"days": 7, "fetched": 0, "skipped_days": 7, "new": 0, "updated": 0, "errors": []}
    assert len(api.requests) == 7

    items = json.loads(api.hf_body("2025-03-05"))
    target = items[0]["paper"]["id"]
    before = app.store.get_papers([target])[target].upvotes
    items[0]["paper"]["upvotes"] = before + 40
    api.bodies["2025-03-05"] = json.dumps(items).encode()
    embedded = app.embedder.calls
    refreshed = app.fetch(day="2025-03-05", refresh=True)
    assert refreshed.model_dump() == {"days": 1, "fetched": 1, "skipped_days": 0, "new": 0, "updated": 1, "errors": []}
    assert refreshed.unchanged == 11
    assert app.store.get_papers([target])[target].upvotes == before + 40
    assert app.embedder.calls == embedded  # an upvote change is not re-embedded
    assert json.loads((settings.data_dir / "raw" / "hf" / "2025-03-05.json").read_text())[0]["paper"]["upvotes"] == before + 40
    app.close()


def test_future_days_are_skipped_and_recent_days_fetched_again_until_final(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api)
    app = Assistant(settings)
    wednesday = datetime(2025, 3, 5, 12, tzinfo=timezone.utc)
    report = fetch_papers(settings, lambda: app, week="2025-W10", now=wednesday)
    assert (report.days, report.fetched, report.future_days, report.new) == (3, 3, 4, 12)
    assert api.days_requested() == W10[:3]
    log = FetchLog(settings.data_dir).days("hf")
    assert {d: v["complete"] for d, v in log.items()} == {"2025-03-03": True, "2025-03-04": False, "2025-03-05": False}
    # the same afternoon: today's and yesterday's lists may still grow, so they are fetched again
    later = fetch_papers(settings, lambda: app, week="2025-W10", now=wednesday + timedelta(hours=6))
    assert (later.fetched, later.skipped_days, later.new) == (2, 1, 0)
    assert api.days_requested()[3:] == ["2025-03-04", "2025-03-05"]
    app.close()


def test_429_retry_after_is_honoured(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api, fetch_backoff=0.5)
    app = Assistant(settings)
    api.script["2024-05-28"] = [(429, {"Retry-After": "7"}, b'{"error": "rate limited"}')]
    waits: list[float] = []
    report = fetch_papers(settings, lambda: app, day="2024-05-28", sleep=waits.append)
    assert (report.fetched, report.new, report.errors) == (1, 15, [])
    assert waits == [7.0]  # the server's wait, not the 0.5 s backoff
    assert api.days_requested() == ["2024-05-28", "2024-05-28"]
    app.close()


def test_429_real_wait_through_the_cli(api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api.script["2024-05-28"] = [(429, {"Retry-After": "1"}, b"slow down")]
    started = time.monotonic()
    code, out, err = run(["fetch", "--date", "2024-05-28", "--json"], tmp_path / "data", monkeypatch, ASSISTANT_HF_API_BASE=f"{api.url}/api")
    assert code == 0, err
    assert json.loads(out)["new"] == 15
    gap = api.requests[1].at - api.requests[0].at
    assert gap >= 0.95 and time.monotonic() - started >= 0.95


def test_500_then_success_with_exponential_backoff(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api, fetch_backoff=0.5)
    app = Assistant(settings)
    api.script["2025-09-10"] = [(500, {}, b"Internal Server Error"), (502, {}, b"Bad Gateway")]
    waits: list[float] = []
    report = fetch_papers(settings, lambda: app, day="2025-09-10", sleep=waits.append)
    assert (report.fetched, report.new, report.errors) == (1, 11, [])
    assert waits == [0.5, 1.0]
    app.close()


def test_server_that_keeps_failing_stops_the_run_and_keeps_earlier_days(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api, fetch_retries=1)
    app = Assistant(settings)
    api.script["2025-03-04"] = [(503, {}, b"down"), (503, {}, b"down")]
    report = fetch_papers(settings, lambda: app, week="2025-W10", sleep=lambda s: None)
    assert report.fetched == 1 and report.failed_days == W10[1:] and not report.ok
    assert "kept failing (HTTP 503 after 2 attempts)" in report.errors[-1].reason
    assert "re-run" in report.errors[-1].reason
    assert api.days_requested() == ["2025-03-03", "2025-03-04", "2025-03-04"]  # no hammering of later days
    resumed = fetch_papers(settings, lambda: app, week="2025-W10")
    assert (resumed.fetched, resumed.skipped_days, resumed.new, resumed.ok) == (6, 1, 12, True)
    app.close()


def test_truncated_json_is_an_error_and_changes_nothing(
    api: FakeApi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    whole = api.hf_body("2024-05-28")
    api.bodies["2024-05-28"] = whole[: len(whole) // 2]
    env = {"ASSISTANT_HF_API_BASE": f"{api.url}/api"}
    code, out, err = run(["fetch", "--date", "2024-05-28", "--json"], data, monkeypatch, **env)
    assert code == 1
    doc = json.loads(out)
    assert set(doc) == CONTRACT and (doc["fetched"], doc["new"]) == (0, 0)
    assert doc["errors"][0]["day"] == "2024-05-28"
    assert "not valid JSON" in doc["errors"][0]["reason"] and "nothing was changed" in doc["errors"][0]["reason"]
    assert err.startswith("error: 1 day not fetched: ") and "not valid JSON" in err
    assert not (data / "raw" / "hf" / "2024-05-28.json").exists()
    assert FetchLog(data).days("hf") == {}
    # not recorded as fetched: once the server is healthy the day is fetched
    del api.bodies["2024-05-28"]
    code, out, _ = run(["fetch", "--date", "2024-05-28", "--json"], data, monkeypatch, **env)
    assert code == 0 and json.loads(out)["new"] == 15


def test_bad_days_inside_a_week_do_not_stop_the_others(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api)
    app = Assistant(settings)
    api.bodies["2025-03-04"] = b'{"error": "Invalid date"}'
    api.script["2025-03-06"] = [(404, {}, b'{"error": "not found"}')]
    report = app.fetch(week="2025-W10")
    assert (report.fetched, report.new, report.failed_days) == (5, 12, ["2025-03-04", "2025-03-06"])
    reasons = {e.day: e.reason for e in report.errors}
    assert "not a list of daily-papers items" in reasons["2025-03-04"]
    assert "HTTP 404" in reasons["2025-03-06"]
    assert set(FetchLog(settings.data_dir).days("hf")) == set(W10) - {"2025-03-04", "2025-03-06"}
    app.close()


def test_offline_gives_the_clear_message_and_exit_1(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    data = tmp_path / "data"
    base = f"http://127.0.0.1:{port}/api"
    code, out, err = run(["fetch", "--date", "2024-05-28", "--json"], data, monkeypatch, ASSISTANT_HF_API_BASE=base)
    assert code == 1 and out == ""
    assert err.startswith(f"error: could not reach {base}: ") and err.rstrip().endswith("; nothing was changed")
    assert not (data / "raw").exists() and not (data / "papers.sqlite").exists()


def test_bad_periods_are_input_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for args, message in [
        (["--date", "2025-3-5x"], "--date"),
        (["--week", "2025-W60"], "ISO week"),
        (["--month", "2025-13"], "--month"),
        (["--date", "2025-03-05", "--week", "2025-W10"], "one period"),
        (["--until", "2025-03-05"], "--until needs --since"),
        (["--since", "2025-03-05", "--until", "2025-03-01"], "after"),
        (["--arxiv", "cs CL", "--since", "2025-03-01"], "--arxiv"),
    ]:
        code, out, err = run(["fetch", *args, "--json"], tmp_path / "data", monkeypatch)
        assert code == 2 and out == "" and message in err, (args, err)


def test_period_days_and_latest() -> None:
    today = date(2025, 3, 5)  # a Wednesday
    assert len(period_days(month="2024-02", today=today) or []) == 29
    last = period_days(week="last", today=today) or []
    assert (last[0], last[-1]) == (date(2025, 2, 24), date(2025, 3, 2))
    since = period_days(since="2025-03-01", today=today) or []
    assert (since[0], since[-1], len(since)) == (date(2025, 3, 1), today, 5)
    assert period_days(today=today) is None
    assert latest_days({}, today) == [today - timedelta(days=i) for i in range(6, -1, -1)]
    old = {"2025-02-10": {"complete": True}, "2025-03-04": {"complete": False}}
    assert latest_days(old, today)[0] == date(2025, 2, 11)  # catch up from the last complete day
    ancient = {"2024-01-01": {"complete": True}}
    assert len(latest_days(ancient, today)) == CATCH_UP_DAYS
    with pytest.raises(InputError):
        period_days(week="2025-W00", today=today)


def test_retry_after_values() -> None:
    now = datetime(2025, 3, 5, 12, tzinfo=timezone.utc)
    assert retry_after("5") == 5.0
    assert retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now) == 0.0
    assert retry_after("soon") is None and retry_after(None) is None


def test_unusable_base_url_is_a_config_error(tmp_path: Path) -> None:
    from assistant.errors import ConfigError

    with pytest.raises(InputError, match="ASSISTANT_HF_API_BASE='huggingface.co/api' is not an http"):
        load_settings(_env_file=None, data_dir=tmp_path / "data", hf_api_base="huggingface.co/api")
    settings = make_settings(tmp_path / "data").model_copy(update={"hf_api_base": "huggingface.co/api"})
    with pytest.raises(ConfigError, match="ASSISTANT_HF_API_BASE"):  # settings built without validation
        fetch_papers(settings, never_opened, day="2024-05-28")


# ---------------------------------------------------------------------------------- arXiv


def test_arxiv_paginated_polite_versionless_published_dates(api: FakeApi, tmp_path: Path) -> None:
    shared_data("hf_daily_papers", "raw_samples")
    settings = settings_for(tmp_path, api, arxiv_page_size=2, arxiv_delay=0.3)
    app = Assistant(settings)
    report = app.fetch(arxiv="cs.CL, cs.LG", since="2025-03-03", until="2025-03-05")
    assert report.model_dump() == {"days": 3, "fetched": 3, "skipped_days": 0, "new": 5, "updated": 0, "errors": []}
    pages = [r for r in api.requests if r.path == "/arxiv/query"]
    assert [r.query["start"] for r in pages] == ["0", "2", "4"]
    assert all(b.at - a.at >= 0.29 for a, b in zip(pages, pages[1:]))  # at least arxiv_delay apart
    query = pages[0].query
    assert query["search_query"] == "(cat:cs.CL OR cat:cs.LG) AND submittedDate:[202503030000 TO 202503052359]"
    assert (query["sortBy"], query["max_results"]) == ("submittedDate", "2")
    assert pages[0].headers["User-Agent"] == USER_AGENT
    papers = app.store.get_papers([f"2503.0100{i}" for i in range(1, 7)])
    assert sorted(papers) == [f"2503.0100{i}" for i in range(1, 6)]  # versions stripped; 03-06 outside
    moe = papers["2503.01004"]  # v2, published 03-05, updated 03-07
    assert (moe.dates, moe.published, moe.url) == (["2025-03-05"], "2025-03-05", "https://arxiv.org/abs/2503.01004")
    assert moe.extra["categories"] == ["cs.LG", "cs.DC"] and moe.source == "arxiv:cs.LG"
    assert papers["2503.01001"].title == "Sparse Retrieval Heads for Long-Context Question Answering"
    assert papers["2503.01001"].authors == ["Ada Quill", "Bo Lindqvist"]
    # the days are final (long past): a re-run asks nothing and opens nothing
    again = fetch_papers(settings, never_opened, arxiv="cs.CL,cs.LG", since="2025-03-03", until="2025-03-05")
    assert (again.fetched, again.skipped_days) == (0, 3) and len(pages) == 3
    # only cs.CL fetched before: a cs.LG-only day range is still fetched
    wider = app.fetch(arxiv="cs.LG", since="2025-03-03", until="2025-03-06")
    assert (wider.fetched, wider.skipped_days, wider.new) == (1, 3, 1)
    app.close()


def test_arxiv_failures_change_nothing(api: FakeApi, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, api, arxiv_api_base=f"{api.url}/nowhere")
    with pytest.raises(FetchError, match="HTTP 404.*nothing was changed"):
        fetch_papers(settings, never_opened, arxiv="cs.CL", day="2025-03-04")
    assert FetchLog(settings.data_dir).days("arxiv:cs.CL") == {}
    error_feed = (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#incorrect_id_format</id>'
        b"<title>Error</title><summary>incorrect id format for 1234</summary></entry></feed>"
    )
    with pytest.raises(Exception, match="refused the query: incorrect id format"):
        parse_atom(error_feed)
    with pytest.raises(Exception, match="not Atom XML"):
        parse_atom(b"<html><body>Service unavailable")
    assert parse_categories("cs.CL,,cs.LG, cs.CL") == ["cs.CL", "cs.LG"]
    with pytest.raises(InputError):
        parse_categories("cs.CL;DROP")


# ---------------------------------------------------------------------------------- end to end


def test_digest_of_last_week_after_a_fetch(api: FakeApi, tmp_path: Path) -> None:
    from digest_fakes import PromptFake

    app = Assistant(settings_for(tmp_path, api), chat_model=PromptFake())
    report: FetchReport = app.fetch(week="2025-W10")
    assert report.new == 12
    digest = app.digest(week="last", today=date(2025, 3, 10))  # the Monday after
    doc = digest.to_json()
    assert doc["week"] == "2025-W10" and doc["papers"] == 12
    cited = {c["paper_id"] for t in doc["topics"] for c in t["citations"]}  # type: ignore[union-attr]
    assert cited and cited <= {p.paper_id for p in app.store.iter_papers()}
    app.close()
