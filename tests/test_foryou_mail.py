"""Mail delivery against a real SMTP server (aiosmtpd on 127.0.0.1) started by the test."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from assistant.errors import ConfigError
from assistant.foryou.delivery import send_mail
from tests.conftest import make_settings
from test_digest import corpus, corpus_dir  # noqa: F401  (fixtures)

PASSWORD = "s3cret-pa55"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # aiosmtpd's hook
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    return AuthResult(success=auth_data.login == b"me" and auth_data.password == PASSWORD.encode(), handled=False)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
    ctl.start()
    try:
        yield inbox, port
    finally:
        ctl.stop()


def test_mail_arrives_with_html_and_text_parts(smtp: tuple[Inbox, int], tmp_path: Path) -> None:
    inbox, port = smtp
    s = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_user="me", smtp_password=PASSWORD,
                      smtp_from="digest@example.org", smtp_starttls=False)
    send_mail(s, ["reader@example.org"], "Your digest", "<h1>For you</h1><p>[1] A paper</p>", "For you\n[1] A paper")
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert msg["Subject"] == "Your digest" and msg["From"] == "digest@example.org" and msg["To"] == "reader@example.org"
    assert msg.get_body(("plain",)).get_content().startswith("For you")
    assert "<h1>For you</h1>" in msg.get_body(("html",)).get_content()


def test_refused_login_down_server_and_missing_starttls_are_one_clear_line(
    smtp: tuple[Inbox, int], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    inbox, port = smtp
    base = dict(smtp_host="127.0.0.1", smtp_port=port, smtp_user="me", smtp_from="d@example.org", smtp_timeout=5)
    with pytest.raises(ConfigError, match="refused the login of 'me'") as refused:
        send_mail(make_settings(tmp_path, smtp_password="wrong-" + PASSWORD, smtp_starttls=False, **base),
                  ["r@example.org"], "s", "<p>x</p>", "x")
    with pytest.raises(ConfigError, match="does not offer STARTTLS") as no_tls:
        send_mail(make_settings(tmp_path, smtp_password=PASSWORD, **base), ["r@example.org"], "s", "<p>x</p>", "x")
    base["smtp_port"] = free_port()
    with pytest.raises(ConfigError, match="cannot send mail through 127.0.0.1") as down:
        send_mail(make_settings(tmp_path, smtp_password=PASSWORD, **base), ["r@example.org"], "s", "<p>x</p>", "x")
    for exc in (refused.value, no_tls.value, down.value):
        assert "\n" not in str(exc) and PASSWORD not in str(exc)
    assert PASSWORD not in caplog.text and not inbox.messages
    with pytest.raises(ConfigError, match="ASSISTANT_SMTP_HOST"):
        send_mail(make_settings(tmp_path), ["r@example.org"], "s", "<p>x</p>", "x")


def test_personal_digest_is_written_and_mailed(
    corpus: Path, smtp: tuple[Inbox, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from assistant.cli import cli
    from digest_fakes import respond_messages
    from fake_openai import FakeOpenAI
    from test_digest import WEEK

    inbox, port = smtp
    with FakeOpenAI(responder=respond_messages) as fake:
        for var, value in {
            "ASSISTANT_DATA_DIR": str(corpus), "ASSISTANT_LLM_BACKEND": "openai", "ASSISTANT_LLM_BASE_URL": fake.base_url,
            "ASSISTANT_LLM_MODEL": "fake-model", "ASSISTANT_SMTP_HOST": "127.0.0.1", "ASSISTANT_SMTP_PORT": str(port),
            "ASSISTANT_SMTP_USER": "me", "ASSISTANT_SMTP_PASSWORD": PASSWORD, "ASSISTANT_SMTP_FROM": "d@example.org",
            "ASSISTANT_SMTP_STARTTLS": "false",
        }.items():
            monkeypatch.setenv(var, value)
        monkeypatch.chdir(tmp_path)
        empty = CliRunner().invoke(cli, ["digest", "--week", WEEK, "--for-me"], obj={})
        assert empty.exit_code == 2 and "is empty" in empty.stderr
        assert CliRunner().invoke(cli, ["follow", "robot grasping"], obj={}).exit_code == 0
        out = tmp_path / "my.html"
        args = ["digest", "--week", WEEK, "--for-me", "--k-for-me", "3", "--format", "html", "--out", str(out)]
        run = CliRunner().invoke(cli, [*args, "--mail", "reader@example.org"], obj={}, catch_exceptions=False)
        assert run.exit_code == 0, run.output
        page = out.read_text()
        assert page.index("<h2>For you</h2>") < page.index('<section id="topic-1">')
        assert page.count("<em>Why:</em>") == 3 and "matches your topic" in page
        msg = inbox.messages[0]
        assert msg["Subject"].startswith("Papers for you") and "<h2>For you</h2>" in msg.get_body(("html",)).get_content()
        assert "## For you" in msg.get_body(("plain",)).get_content()
        # a refused login: one line, exit 1, the digest still written, the password nowhere
        out.unlink()
        monkeypatch.setenv("ASSISTANT_SMTP_PASSWORD", "wrong-" + PASSWORD)
        run = CliRunner().invoke(cli, [*args, "--mail", "reader@example.org"], obj={})
        assert run.exit_code == 1 and out.exists()
        assert run.stderr.count("\n") == 1 and "refused the login" in run.stderr and PASSWORD not in run.stderr
        assert len(inbox.messages) == 1


def self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A throw-away certificate for 127.0.0.1, made with the openssl command line."""
    import shutil
    import subprocess

    if not shutil.which("openssl"):
        pytest.skip("the openssl command is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def test_starttls_handshake_before_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    cert, key = self_signed_cert(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[bool] = []

    def tls_only_login(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append(session.ssl is not None)
        return authenticator(server, session, envelope, mechanism, auth_data)

    inbox, port = Inbox(), free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=tls_only_login, tls_context=server_tls,
                     require_starttls=True, auth_require_tls=True)
    ctl.start()
    try:
        s = make_settings(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_user="me", smtp_password=PASSWORD,
                          smtp_from="d@example.org", smtp_timeout=5)
        # the certificate is not trusted yet: one clear line, nothing sent, no password
        with pytest.raises(ConfigError, match="cannot send mail through 127.0.0.1.*SSL") as untrusted:
            send_mail(s, ["r@example.org"], "s", "<p>x</p>", "x")
        assert "\n" not in str(untrusted.value) and PASSWORD not in str(untrusted.value)
        assert not inbox.messages and not logins
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trusted the way a system CA store would trust it
        send_mail(s, ["r@example.org"], "over TLS", "<p>x</p>", "x")
    finally:
        ctl.stop()
    assert logins == [True]
    assert [m["Subject"] for m in inbox.messages] == ["over TLS"]
