"""The star on papers and the For-you page, driven with AppTest through the real assistant (seeded store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from assistant.foryou.service import ForYou
from assistant.service import Assistant
from conftest import make_settings
from test_ui import QUESTION, SUPPORTED, ask, fake_answers, start, ui_env  # noqa: F401  (ui_env is a fixture)


def stars_of(data: Path, profile: str = "default") -> list[str]:
    app = Assistant(make_settings(data))
    try:
        return ForYou(app).profile(profile).star_ids
    finally:
        app.close()


def star_buttons(at: AppTest, where: str) -> list:  # type: ignore[type-arg]
    return [b for b in at.button if str(b.key).startswith(f"star-{where}-")]


def test_star_a_search_result_and_an_evidence_paper(ui_env: pytest.MonkeyPatch, seeded_copy: Path) -> None:
    at = start("library_page.py")
    at.text_input(key="search_query").input("semi-supervised text spotting").run()
    buttons = star_buttons(at, "search")
    assert len(buttons) == 10 and all(b.label == "☆" for b in buttons)
    first = buttons[0].key.removeprefix("star-search-")
    buttons[0].click().run()
    assert not at.exception
    assert stars_of(seeded_copy) == [first]
    assert at.button(key=f"star-search-{first}").label == "★"
    at.button(key=f"star-search-{first}").click().run()  # and off again
    assert stars_of(seeded_copy) == []

    fake_answers(ui_env, SUPPORTED)
    chat = ask(start(), QUESTION)
    evidence = star_buttons(chat, "ev0")
    assert len(evidence) == 3
    evidence[0].click().run()
    assert stars_of(seeded_copy) == [evidence[0].key.removeprefix("star-ev0-")]


def test_for_you_page_explains_the_empty_profile_then_ranks_with_reasons(ui_env: pytest.MonkeyPatch) -> None:
    at = start("foryou_page.py")
    assert any("This profile is empty" in i.value and "assistant follow" in i.value for i in at.info)
    at.text_input(key="foryou_topic").input("semi-supervised text spotting")
    next(b for b in at.button if b.label == "Follow").click().run()
    assert not at.exception, at.exception
    assert at.button(key="unfollow-topic-semi-supervised text spotting")
    text = "\n".join(m.value for m in at.markdown)
    assert text.count("*Why:*") == 10 and "matches your topic" in text
    assert len(star_buttons(at, "feed")) == 10
    assert any("top 10 of" in s.value for s in at.subheader)


def test_digest_for_me_switch_puts_the_profile_first(ui_env: pytest.MonkeyPatch, seeded_copy: Path) -> None:
    from digest_fakes import respond_messages
    from fake_openai import FakeOpenAI
    from test_ui import use_fake_endpoint

    app = Assistant(make_settings(seeded_copy))
    ForYou(app).follow(["semi-supervised learning"])
    app.close()
    with FakeOpenAI(responder=respond_messages) as fake:
        use_fake_endpoint(ui_env, fake)
        at = start("digest_page.py")
        at.selectbox(key="digest_week").select("2025-W23")
        at.selectbox(key="digest_extract").select("quick")
        at.toggle(key="digest_for_me").set_value(True)
        at.run()
        at.button(key="digest_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.subheader[0].value == "For you (default)"
    assert at.subheader[1].value.startswith("2025-W23: 54 papers in ")
    assert len(star_buttons(at, "digest-foryou")) == 5
    assert "matches your topic" in "\n".join(m.value for m in at.markdown)
