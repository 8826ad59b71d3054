"""CI: the wheel works outside the checkout (`python .ci/wheel_check.py`, run by .ci/run after `make test`).

Builds the wheel offline (no build isolation), checks it carries every file of `assistant/`, the
prompts, the UI pages and their Streamlit settings, installs it with no dependencies into a fresh venv in a temporary directory
that sees the checkout venv's site-packages (so nothing is downloaded), then, from a directory
outside the checkout: ingests three papers, runs `assistant ask` against the fake OpenAI-compatible
endpoint of tests/fake_openai.py, and starts `assistant ui` until Streamlit's health check answers
and a browser session gets the settings of ui/.streamlit/config.toml (toolbar mode, theme).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_openai import FakeOpenAI  # noqa: E402

PAPERS = [
    {
        "arxiv_id": "2401.00001",
        "title": "ShrinkMatch: Shrinking the Confusion Space for Semi-Supervised Learning",
        "abstract": "Semi-supervised learning trains on few labels and many unlabeled samples. "
        "ShrinkMatch shrinks the class space of uncertain samples so that their pseudo labels become confident. "
        "It improves accuracy on CIFAR-100 with 400 labels.",
        "date": "2025-06-02",
    },
    {
        "arxiv_id": "2401.00002",
        "title": "Fast Text Spotting with Sparse Queries",
        "abstract": "Text spotting detects and reads text in images. We propose sparse queries that cut decoding time "
        "in half while keeping accuracy on Total-Text.",
        "date": "2025-06-03",
    },
    {
        "arxiv_id": "2401.00003",
        "title": "Speculative Decoding for Long Contexts",
        "abstract": "Speculative decoding drafts tokens with a small model and verifies them with a large one. "
        "We extend it to long contexts with a compressed key-value cache.",
        "date": "2025-06-04",
    },
]
QUESTION = "How does ShrinkMatch handle uncertain samples?"


def say(msg: str) -> None:
    print(f"wheel check: {msg}", flush=True)


def run(cmd: list[str | Path], **kw: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in cmd], text=True, capture_output=True, **kw)
    if result.returncode != 0:
        sys.exit(f"wheel check: {' '.join(map(str, cmd))} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def build_wheel(out: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", out, ROOT])
    (wheel,) = out.glob("paper_digest_assistant-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    package = (p for p in (ROOT / "assistant").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    wanted = {p.relative_to(ROOT).as_posix() for p in package}  # modules and data (the fitted models' JSON)
    wanted |= {f"assistant/_data/prompts/{p.name}" for p in (ROOT / "prompts").glob("*.md")}
    wanted |= {f"assistant/_data/ui/{p.name}" for p in (ROOT / "ui").glob("*.py")}
    wanted.add("assistant/_data/ui/.streamlit/config.toml")
    missing = sorted(wanted - names)
    if missing:
        sys.exit(f"wheel check: {wheel.name} lacks {missing}; list new subpackages or data in pyproject.toml")
    say(f"built {wheel.name} ({len(names)} files, prompts, UI and its Streamlit settings included)")
    return wheel


def make_venv(where: Path, wheel: Path) -> Path:
    """A fresh venv whose only own package is the wheel; dependencies come from this venv's site-packages."""
    run([sys.executable, "-m", "venv", "--without-pip", where])
    python = where / "bin" / "python"
    site = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    # A path line, not this venv's .pth files: the checkout's editable install stays invisible.
    (site / "zz_checkout_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    return where / "bin"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def evidence_responder(messages: list[dict[str, Any]]) -> str:
    """Answer with the first sentence of evidence [1], cited."""
    user = str(messages[-1]["content"])
    m = re.search(r"^\[1\] .+?: (.+?\.)(?: |$)", user, re.M)
    return f"{m.group(1)} [1]" if m else "NOT_IN_PAPERS"


def check_ask(bin_dir: Path, work: Path, env: dict[str, str]) -> None:
    (work / "papers.jsonl").write_text("".join(json.dumps(p) + "\n" for p in PAPERS))
    run([bin_dir / "assistant", "ingest", "papers.jsonl"], cwd=work, env=env)
    with FakeOpenAI(responder=evidence_responder) as fake:
        endpoint = {"ASSISTANT_LLM_BASE_URL": fake.base_url, "ASSISTANT_LLM_MODEL": fake.model}
        env = {**env, "ASSISTANT_LLM_BACKEND": "openai", **endpoint}
        out = run([bin_dir / "assistant", "ask", QUESTION, "--json"], cwd=work, env=env).stdout
        prompts = [r.prompt for r in fake.chat_requests]
    doc = json.loads(out)
    if doc["refused"] or not doc["citations"] or not doc["citations"][0]["supported"]:
        sys.exit(f"wheel check: `assistant ask` gave no supported answer: {out}")
    qa_prompt = (ROOT / "prompts" / "qa.md").read_text(encoding="utf-8").split("## user")[0].strip()
    if not any(qa_prompt.splitlines()[0] in p for p in prompts):
        sys.exit("wheel check: the endpoint never received the packaged prompts/qa.md")
    say(f"`assistant ask` answered from the installed package: {doc['answer'][:80]!r}")


def check_ui(bin_dir: Path, work: Path, env: dict[str, str]) -> None:
    port = free_port()
    log = (work / "ui.log").open("w")
    proc = subprocess.Popen(
        [str(bin_dir / "assistant"), "ui", "--port", str(port)], cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                sys.exit(f"wheel check: `assistant ui` exited {proc.returncode}:\n{(work / 'ui.log').read_text()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as resp:
                    if resp.status == 200:
                        say(f"`assistant ui` is serving on port {port}")
                        check_ui_settings(port)
                        return
            except OSError:
                time.sleep(0.2)
        sys.exit(f"wheel check: `assistant ui` did not answer its health check:\n{(work / 'ui.log').read_text()}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def check_ui_settings(port: int) -> None:
    """A browser session of the installed app gets the settings of the repo's ui/.streamlit/config.toml.

    Opens the app's websocket as the browser does, asks for a script run and reads the session's
    start message: its toolbar mode and theme are Streamlit's defaults unless the file was applied.
    """
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.NewSession_pb2 import Config, CustomThemeConfig
    from websockets.sync.client import connect

    wanted = tomllib.loads((ROOT / "ui" / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    rerun = BackMsg()
    rerun.rerun_script.query_string = ""
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"], open_timeout=30) as ws:  # type: ignore[list-item]
        ws.send(rerun.SerializeToString())
        msg = ForwardMsg()
        while msg.WhichOneof("type") != "new_session":
            msg.ParseFromString(ws.recv(timeout=60))
    session = msg.new_session
    got = {
        "client.toolbarMode": Config.ToolbarMode.Name(session.config.toolbar_mode).lower(),
        "theme.base": CustomThemeConfig.BaseTheme.Name(session.custom_theme.base).lower()
        if session.HasField("custom_theme") else None,
    }
    expected = {"client.toolbarMode": wanted["client"]["toolbarMode"], "theme.base": wanted["theme"]["base"]}
    if got != expected:
        sys.exit(f"wheel check: the installed `assistant ui` ignores ui/.streamlit/config.toml: got {got}, want {expected}")
    say(f"`assistant ui` applies ui/.streamlit/config.toml ({got})")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wheel-check-") as tmp:
        tmp_path = Path(tmp)
        bin_dir = make_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))
        work = tmp_path / "work"
        work.mkdir()
        located = run([bin_dir / "python", "-c", "import assistant; print(assistant.__file__)"], cwd=work).stdout
        if not located.startswith(str(tmp_path)):
            sys.exit(f"wheel check: `assistant` imports from {located.strip()}, not from the fresh venv")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "PYTHON")) and k != "OPENAI_API_KEY"}
        env.update(HOME=str(work), ASSISTANT_DATA_DIR=str(work / "data"), ASSISTANT_LLM_MAX_RETRIES="0")
        check_ask(bin_dir, work, env)
        check_ui(bin_dir, work, env)
    say("ok")


if __name__ == "__main__":
    main()
