"""The personal feed: profiles (round-trip, migration), ranking with fixed vectors, reasons, the CLI contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.cli import cli
from assistant.errors import InputError
from assistant.foryou.profile import Profile, Star, profile_from_json, profile_to_json
from assistant.foryou.rank import rank
from assistant.foryou.service import ForYou
from assistant.papers import Paper
from assistant.service import Assistant
from tests.conftest import make_settings

DIM = 16


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def world(n_per: int = 20, seed: int = 0) -> tuple[list[Paper], dict[str, np.ndarray]]:
    """Two themes on two axes (plus noise): ids a0.. are theme A, b0.. theme B."""
    rng = np.random.default_rng(seed)
    papers, vecs = [], {}
    for theme, axis in (("a", 0), ("b", 1)):
        for i in range(n_per):
            pid = f"{theme}{i}"
            base = np.zeros(DIM)
            base[axis] = 1.0
            vecs[pid] = unit(base + 0.35 * rng.standard_normal(DIM))
            papers.append(Paper(paper_id=pid, title=f"Paper {pid}", abstract="x", authors=[f"Author {pid}"],
                                dates=["2025-06-02"], upvotes=int(rng.integers(0, 50))))
    return papers, vecs


def test_profile_round_trip_and_edits() -> None:
    p = Profile(name="work")
    assert p.empty
    assert p.follow(["LLM  quantization", "llm quantization"], ["Tri Dao"]) == ["LLM quantization", "author Tri Dao"]
    p.mark({"2406.01234": "A paper"})
    p.mark({"2406.01234": "A paper"}, not_interested=True)  # moving a star to "not interested"
    assert p.star_ids == [] and p.hidden_ids == {"2406.01234"}
    back = profile_from_json(profile_to_json(p))
    assert back == p
    with pytest.raises(InputError, match="not followed"):
        p.unfollow(["speculative decoding"])


def test_profile_migration_and_bad_files() -> None:
    old = {"version": 1, "name": "old", "topics": ["diffusion"], "stars": ["2406.01234"], "not_interested": ["2406.5"]}
    p = profile_from_json(json.dumps(old))
    assert p.version == 2 and p.stars[0] == Star(paper_id="2406.01234", title="", starred_at=p.stars[0].starred_at)
    assert p.hidden_ids == {"2406.5"}
    with pytest.raises(InputError, match="newer than this assistant"):
        profile_from_json(json.dumps({"version": 99}))
    with pytest.raises(InputError, match="not JSON"):
        profile_from_json("{", "me.json")
    with pytest.raises(InputError, match="field 'topics'"):
        profile_from_json(json.dumps({"topics": "not a list"}))
    with pytest.raises(InputError, match="profile name"):
        profile_from_json(json.dumps({"name": "../etc"}))


def test_profiles_are_stored_with_the_paper_table(tmp_path: Path) -> None:
    app = Assistant(make_settings(tmp_path / "data"))
    mine = ForYou(app)
    assert mine.profile("default").empty and mine.profiles.names() == []
    mine.save(Profile(name="work", topics=["diffusion"]))
    mine.save(Profile(name="home", authors=["Tri Dao"]))
    assert mine.profiles.names() == ["home", "work"]
    # an older document in the table is migrated when read
    with app.store.table.db:
        app.store.table.db.execute("UPDATE profiles SET data=? WHERE name='home'", (json.dumps({"version": 1, "stars": ["x1"]}),))
    assert mine.profile("home").stars[0].paper_id == "x1"
    # a stored document that is not a profile names the profile and the data dir
    mine.profiles.put("broken", "{")
    with pytest.raises(InputError, match="stored profile 'broken' in .*not JSON"):
        mine.profile("broken")
    with pytest.raises(InputError, match="profile name"):
        mine.profile("../etc")
    app.close()
    again = Assistant(make_settings(tmp_path / "data"))
    assert ForYou(again).profile("work").topics == ["diffusion"]
    again.store.profiles.delete("work")
    with pytest.raises(InputError, match="no profile named"):
        again.store.profiles.delete("work")
    assert (tmp_path / "data" / "papers.sqlite").exists()


@pytest.mark.parametrize("n_stars", [1, 3, 5])
def test_ranking_puts_the_starred_theme_first_with_reasons(n_stars: int) -> None:
    papers, vecs = world()
    stars = [f"a{i}" for i in range(n_stars)]
    profile = Profile(stars=[Star(paper_id=s, title=f"Paper {s}") for s in stars])
    ranked = rank(papers, vecs, profile, {s: vecs[s] for s in stars})
    assert {r.paper.paper_id for r in ranked}.isdisjoint(stars)  # stars are not recommended back
    top = [r.paper.paper_id for r in ranked[:10]]
    assert sum(pid.startswith("a") for pid in top) >= 9
    assert ("classifier" in ranked[0].parts) == (n_stars >= 3)
    assert all(r.reasons for r in ranked)
    assert any(reason.startswith("close to your star \u201cPaper a") for reason in ranked[0].reasons)


def test_cold_start_topics_authors_and_not_interested() -> None:
    papers, vecs = world()
    topic_b = unit(np.eye(DIM)[1])[None, :]
    profile = Profile(topics=["theme b"], authors=["Author a7"])
    ranked = rank(papers, vecs, profile, {}, topic_b)
    ids = [r.paper.paper_id for r in ranked]
    assert ids[0] == "a7" and ranked[0].reasons[0] == "author you follow: Author a7"
    assert sum(pid.startswith("b") for pid in ids[1:11]) >= 9
    assert "matches your topic \u201ctheme b\u201d" in ranked[1].reasons
    # "not interested" in a few theme-b papers pushes the rest of theme b down
    hidden = {f"b{i}": vecs[f"b{i}"] for i in range(3)}
    profile.not_interested = [Star(paper_id=h) for h in hidden]
    down = rank(papers, vecs, profile, {}, topic_b, hidden)
    assert {r.paper.paper_id for r in down}.isdisjoint(hidden)
    assert all(d.parts["hidden"] <= 0 for d in down if d.paper.paper_id.startswith("b"))


def run(args: list[str], data: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(data))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE_DIR", str(make_settings(data).models_dir))
    monkeypatch.chdir(data.parent)
    result = CliRunner().invoke(cli, args, obj={}, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_cli_follow_star_feed(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(["feed", "--json"], seeded_copy, monkeypatch)
    assert code == 2 and "is empty" in err and "assistant follow" in err
    code, _, err = run(["star", "t:38045908886b7e0d", "2406.99999"], seeded_copy, monkeypatch)
    assert code == 2 and "'2406.99999'" in err and "nothing was changed" in err
    assert json.loads(run(["profile", "--json"], seeded_copy, monkeypatch)[1])["stars"] == []
    code, out, _ = run(["follow", "semi-supervised text spotting", "--json"], seeded_copy, monkeypatch)
    assert code == 0 and json.loads(out)["topics"] == ["semi-supervised text spotting"]
    code, out, _ = run(["star", "t:38045908886b7e0d", "--json"], seeded_copy, monkeypatch)
    assert code == 0 and json.loads(out)["stars"][0]["title"].startswith("SemiETS")
    code, out, _ = run(["feed", "--week", "2025-W34", "--k", "5", "--json"], seeded_copy, monkeypatch)
    doc = json.loads(out)
    assert code == 0 and doc["period"] == "2025-W34" and len(doc["items"]) == 5
    assert all(item["reasons"] for item in doc["items"])
    assert "t:38045908886b7e0d" not in {i["paper_id"] for i in doc["items"]}
    code, out, _ = run(["feed", "--week", "2025-W34", "--k", "3"], seeded_copy, monkeypatch)
    assert code == 0 and out.count("why: ") == 3
    code, _, err = run(["unfollow", "nothing like this"], seeded_copy, monkeypatch)
    assert code == 2 and "not followed" in err


def test_feed_rss_and_atom_parse_back(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import feedparser

    run(["follow", "semi-supervised learning"], seeded_copy, monkeypatch)
    for fmt in ("rss", "atom"):
        out = tmp_path / f"feed.{fmt}"
        code, _, _ = run(["feed", "--week", "2025-W34", "--k", "4", "--format", fmt, "--out", str(out)], seeded_copy, monkeypatch)
        assert code == 0
        parsed = feedparser.parse(out.read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == ("rss20" if fmt == "rss" else "atom10")
        assert len(parsed.entries) == 4 and parsed.entries[0].title.startswith("1. ")
        assert all("Why: " in e.summary for e in parsed.entries)
    code, _, err = run(["feed", "--week", "2025-W34", "--format", "rss", "--out", str(tmp_path / "no" / "f.xml")],
                       seeded_copy, monkeypatch)
    assert code == 2 and "cannot write" in err and "f.xml" in err


def test_profile_export_import_between_data_dirs(seeded_copy: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    run(["follow", "text spotting", "--profile", "work"], seeded_copy, monkeypatch)
    run(["star", "t:38045908886b7e0d", "--profile", "work"], seeded_copy, monkeypatch)
    exported = tmp_path / "work.json"
    assert run(["profile", "export", "--profile", "work", "--out", str(exported)], seeded_copy, monkeypatch)[0] == 0
    other = tmp_path / "other" / "data"
    other.parent.mkdir()
    code, out, _ = run(["profile", "import", str(exported), "--as", "laptop", "--json"], other, monkeypatch)
    assert code == 0 and json.loads(out)["stars"][0]["title"].startswith("SemiETS")
    assert json.loads(run(["profile", "list", "--json"], other, monkeypatch)[1]) == {"profiles": ["laptop"]}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    code, _, err = run(["profile", "import", str(bad)], other, monkeypatch)
    assert code == 2 and "bad.json" in err
