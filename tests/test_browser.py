"""The Streamlit app in a real browser: `assistant ui` on 127.0.0.1 driven by headless Chromium.

Asks a question (the fake OpenAI-compatible server of tests/fake_openai.py through the `openai` back end), waits for the
cited answer, uploads a file with hostile markup, saves a screenshot of every page under
artifacts/screenshots/ and prints start-up and evidence latencies. Skipped without Debian's
`chromium` and `chromium-driver` packages.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app_server import AppServer
from conftest import ROOT, make_settings
from fake_openai import FakeOpenAI

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SHOTS = ROOT / "artifacts" / "screenshots"
QUESTION = "How does ShrinkMatch handle uncertain samples?"
ANSWER = (
    "ShrinkMatch adaptively seeks a shrunk class space for each uncertain sample [1]. "
    "It reached 99.9% on [Moon-Bench] (v2) with *no* labels [1]."  # unsupported, with markup characters
)
SHRINK_TITLE = "Shrinking Class Space for Enhanced Certainty in Semi-Supervised Learning"
HOSTILE_TITLE = "Quantum Gardening with <script>alert(1)</script> <img src=x onerror=alert(2)> *Bold*"

pytestmark = pytest.mark.slow

if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(
        f"real-browser test needs {CHROMIUM} and {CHROMEDRIVER}: apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import (  # noqa: E402
    NoAlertPresentException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1500",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def start_app(data_dir: Path, workdir: Path, chat: FakeOpenAI) -> AppServer:
    """`assistant ui` over `data_dir`, answering through the `openai` back end at the fake server `chat`."""
    return AppServer(workdir, {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_MODEL_CACHE_DIR": str(make_settings(data_dir).models_dir),
        "ASSISTANT_LLM_BACKEND": "openai",
        "ASSISTANT_LLM_BASE_URL": chat.base_url,
        "ASSISTANT_LLM_MODEL": chat.model,
        "ASSISTANT_LLM_MAX_RETRIES": "0",
    })  # fmt: skip


def wait_for(driver: WebDriver, find: Callable[[WebDriver], Any], timeout: float = 60, what: str = "") -> Any:
    try:
        wait = WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException])
        return wait.until(lambda d: find(d))  # elements go stale while Streamlit re-renders
    except TimeoutException:
        SHOTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SHOTS / "failure.png"))
        raise AssertionError(f"timed out waiting for {what or find}; screenshot in {SHOTS / 'failure.png'}") from None


def css(driver: WebDriver, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def visible(selector: str) -> Callable[[WebDriver], WebElement | None]:
    def find(d: WebDriver) -> WebElement | None:
        return next((e for e in css(d, selector) if e.is_displayed()), None)

    return find


def with_text(selector: str, text: str) -> Callable[[WebDriver], WebElement | None]:
    def find(d: WebDriver) -> WebElement | None:
        return next((e for e in css(d, selector) if text in e.text), None)

    return find


def idle(driver: WebDriver) -> None:
    """Wait until the script run finished (no running indicator) so screenshots are complete."""
    time.sleep(0.3)
    wait_for(driver, lambda d: not css(d, '[data-testid="stStatusWidget"]'), 60, "the script run to finish")


def shoot(driver: WebDriver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    idle(driver)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def ask(driver: WebDriver, question: str) -> None:
    box = wait_for(driver, visible('[data-testid="stChatInputTextArea"]'), 30, "the chat input")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)


def go_to(driver: WebDriver, url_path: str, title: str) -> None:
    link = wait_for(driver, visible(f'[data-testid="stSidebarNav"] a[href$="/{url_path}"]'), 30, f"{title} link")
    link.click()
    wait_for(driver, with_text("h1", title), 30, f"the {title} page")


def click_button(driver: WebDriver, label: str) -> None:
    """Click the enabled button whose text ends with `label` (icons come first)."""

    def find(d: WebDriver) -> WebElement | None:
        return next((b for b in css(d, "button") if b.text.strip().endswith(label) and b.is_enabled()), None)

    wait_for(driver, find, 30, f"the enabled {label!r} button").click()


def no_alert(driver: WebDriver) -> bool:
    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        return True
    return False


def test_app_in_a_real_browser(seeded_copy: Path, tmp_path: Path, browser: WebDriver) -> None:
    chat = FakeOpenAI(responder=lambda messages: ANSWER).start()
    server = start_app(seeded_copy, tmp_path / "server", chat)
    try:
        serving = server.wait_healthy()
        browser.get(server.url)
        wait_for(browser, visible('[data-testid="stChatInputTextArea"]'), 120, "the chat input")
        wait_for(browser, with_text('[data-testid="stSidebar"]', "papers"), 120, "the status sidebar")
        interactive = time.perf_counter() - server.started

        # cold question: the retrieved papers first, then the answer with a linked citation
        t0 = time.perf_counter()
        ask(browser, QUESTION)
        wait_for(browser, with_text('[data-testid="stExpander"]', "Retrieved papers"), 60, "the evidence")
        evidence_cold = time.perf_counter() - t0
        cite = wait_for(
            browser,
            lambda d: next((a for a in css(d, '[data-testid="stChatMessage"] a') if a.text == "[1]"), None),
            60,
            "a [1] citation link",
        )
        assert cite.get_attribute("title") == SHRINK_TITLE
        wait_for(browser, lambda d: "shrunk class space" in d.find_element(By.TAG_NAME, "body").text, 30, "the answer text")
        flagged = with_text('[data-testid="stChatMessage"] p', "⚠ It reached 99.9% on [Moon-Bench] (v2) with *no* labels")
        wait_for(browser, flagged, 30, "the unsupported sentence, shown literally with its ⚠")
        wait_for(browser, with_text('[data-testid="stCaptionContainer"]', "not supported by the cited abstract"), 30,
                 "the caption explaining ⚠")
        shoot(browser, "1-chat-answer")

        # warm question (after clearing, so no follow-up rewrite): time to evidence only
        wait_for(browser, with_text("button", "Clear conversation"), 30, "the clear button").click()
        wait_for(browser, lambda d: not css(d, '[data-testid="stChatMessage"]'), 30, "an empty conversation")
        t0 = time.perf_counter()
        ask(browser, "semi-supervised text spotting with pseudo labels")
        wait_for(browser, with_text('[data-testid="stExpander"]', "Retrieved papers"), 60, "the evidence")
        evidence_warm = time.perf_counter() - t0
        shoot(browser, "2-chat-second-question")

        # library: upload a file whose title carries markup, ingest, search; nothing may execute
        go_to(browser, "library", "Library")
        upload = tmp_path / "hostile.jsonl"
        upload.write_text(
            json.dumps(
                {
                    "arxiv_id": "2501.00001",
                    "title": HOSTILE_TITLE,
                    "abstract": "We grow quantum gardens with language agents that prune qubits and report a "
                    "fourfold increase in coherent tomatoes over classical gardening baselines.",
                    "date": "2025-01-06",
                }
            )
            + "\n{broken line\n"
        )
        uploader = '[data-testid="stFileUploader"] input[type="file"]'
        wait_for(browser, lambda d: css(d, uploader), 30, "the uploader")[0].send_keys(str(upload))
        wait_for(browser, with_text('[data-testid="stFileUploader"]', "hostile.jsonl"), 30, "the uploaded file")
        click_button(browser, "Ingest")
        wait_for(browser, with_text('[data-testid="stMetric"]', "new"), 120, "the ingest counts")
        search = wait_for(browser, visible('input[aria-label="Search the papers"]'), 30, "the search box")
        search.send_keys("quantum gardening tomatoes", Keys.ENTER)
        wait_for(browser, with_text('[data-testid="stMarkdownContainer"] a', "Quantum Gardening"), 60, "the result")
        shoot(browser, "3-library")
        link = with_text('[data-testid="stMarkdownContainer"] a', "Quantum Gardening")(browser)
        assert link is not None and link.text.startswith("Quantum Gardening with <script>alert(1)</script>")
        assert link.get_attribute("href") == "https://arxiv.org/abs/2501.00001"
        assert not css(browser, '[data-testid="stMarkdownContainer"] script, [data-testid="stMarkdownContainer"] img')
        assert no_alert(browser), "markup in a paper title was executed"

        # star the result, then the For-you page ranks the week with reasons
        star = wait_for(browser, lambda d: next((b for b in css(d, "button") if b.text.strip() == "☆"), None), 30, "a star")
        star.click()
        wait_for(browser, lambda d: any(b.text.strip() == "★" for b in css(d, "button")), 30, "the starred paper")
        go_to(browser, "for-you", "For you")
        wait_for(browser, with_text('[data-testid="stExpander"]', "Starred papers (1)"), 30, "the starred list")
        follow = wait_for(browser, visible('input[aria-label="Follow a topic"]'), 30, "the follow box")
        follow.send_keys("semi-supervised learning")
        click_button(browser, "Follow")
        wait_for(browser, with_text("button", "✕ semi-supervised learning"), 30, "the followed topic")
        wait_for(browser, with_text("h3", "top "), 60, "the ranked feed")
        # Streamlit renders the heading before the rows, so wait for the reasons too
        wait_for(browser, with_text('[data-testid="stMarkdownContainer"] p', "Why:"), 60, "the feed's reasons")
        shoot(browser, "3b-for-you")

        go_to(browser, "compare", "Compare papers")
        topic = wait_for(browser, visible('input[aria-label="A topic, or 2 to 6 paper ids"]'), 30, "the compare box")
        topic.send_keys("semi-supervised learning", Keys.ENTER)
        click_button(browser, "Compare")
        wait_for(browser, with_text("h3", "Side by side"), 180, "the comparison table")
        wait_for(browser, lambda d: css(d, '[data-testid="stMarkdownContainer"] table a'), 30, "the table's paper links")
        shoot(browser, "4-compare")

        go_to(browser, "digest", "Weekly digest")
        t0 = time.perf_counter()
        click_button(browser, "Build digest")
        wait_for(browser, with_text("h3", "papers in"), 300, "the digest")
        digest_time = time.perf_counter() - t0
        shoot(browser, "5-digest")
        assert no_alert(browser)
        severe = [e["message"] for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
        print(f"\nbrowser console errors: {severe or 'none'}")
        external = [m for m in severe if "://" in m and not m.startswith("http://127.0.0.1")]
        assert not external, f"the page tried to reach the network: {external}"
        assert not css(browser, '[data-testid="stException"]'), "a traceback reached the page"
    finally:
        server.stop()
        chat.close()
    log = Path(server.log.name).read_text()
    assert "WARNING" not in log and "Traceback" not in log, f"the server's output is not clean:\n{log}"

    print(
        f"server healthy after {serving:.2f} s; app interactive after {interactive:.2f} s; "
        f"ask → evidence visible: {evidence_cold:.2f} s cold, {evidence_warm:.2f} s warm; "
        f"digest of the newest week (fake model): {digest_time:.1f} s; screenshots in {SHOTS}"
    )
