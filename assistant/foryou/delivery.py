"""Delivering the personal feed: RSS 2.0 / Atom files (feedgen) and e-mail through SMTP.

Feeds are written by feedgen, not by hand, so a feed reader accepts them. Mail goes through the
server in `ASSISTANT_SMTP_*` settings with STARTTLS (unless turned off for a local relay); the
password is sent to the server only and never appears in a message, log or error.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from datetime import datetime, time, timezone
from email.message import EmailMessage
from pathlib import Path

from assistant.config import Settings
from assistant.errors import ConfigError, InputError
from assistant.foryou.service import Feed

FEED_ID = "urn:paper-digest-assistant:for-you:"


def feed_xml(feed: Feed, fmt: str) -> bytes:
    """The feed as RSS 2.0 (`rss`) or Atom (`atom`): one entry per ranked paper, its reasons in the summary."""
    from feedgen.feed import FeedGenerator

    if fmt not in ("rss", "atom"):
        raise InputError(f"feed format must be rss or atom; got {fmt!r}")
    fg = FeedGenerator()
    fg.id(FEED_ID + feed.profile)
    fg.title(f"Papers for you ({feed.profile}), {feed.period}")
    fg.subtitle(f"{len(feed.items)} of {feed.n_papers} papers listed {feed.since} to {feed.until}, ranked by {feed.mode}")
    fg.link(href="https://huggingface.co/papers", rel="alternate")
    fg.generator("paper-digest-assistant")
    fg.language("en")
    for rank_n, item in reversed(list(enumerate(feed.items, start=1))):  # feedgen prepends: add the last first
        p = item.paper
        entry = fg.add_entry()
        entry.id(p.link or f"{FEED_ID}{p.paper_id}")
        entry.guid(p.link or f"{FEED_ID}{p.paper_id}", permalink=bool(p.link))
        entry.title(f"{rank_n}. {p.title}")
        why = "; ".join(item.reasons)
        entry.summary(f"Why: {why}. {p.abstract[:600]}")
        if p.link:
            entry.link(href=p.link)
        else:  # Atom wants a link or a content element
            entry.content(f"Why: {why}. {p.abstract}", type="text")
        for name in p.authors[:10]:
            entry.author({"name": name, "email": "unknown@example.invalid"} if fmt == "rss" else {"name": name})
        day = max(p.dates) if p.dates else feed.until
        stamp = datetime.combine(datetime.fromisoformat(day).date(), time(), tzinfo=timezone.utc)
        entry.published(stamp)
        entry.updated(stamp)
    return fg.rss_str(pretty=True) if fmt == "rss" else fg.atom_str(pretty=True)


def write_file(path: Path, data: bytes) -> None:
    """Write atomically (temp file + rename); an unwritable path is an InputError naming it."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}; choose a writable path with --out") from exc


def send_mail(settings: Settings, to: list[str], subject: str, html: str, text: str) -> None:
    """Send one message (plain text + HTML alternative); failures are one line without the password."""
    if not settings.smtp_host:
        raise ConfigError("no SMTP server set: give ASSISTANT_SMTP_HOST (and _PORT, _USER, _PASSWORD, _FROM)")
    sender = settings.smtp_from or settings.smtp_user
    if not sender:
        raise ConfigError("no sender address: set ASSISTANT_SMTP_FROM")
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, sender, ", ".join(to)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout) as smtp:
            if settings.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_user and settings.smtp_password:
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise ConfigError(
            f"the SMTP server {where} refused the login of {settings.smtp_user!r} ({exc.smtp_code}); "
            "check ASSISTANT_SMTP_USER and ASSISTANT_SMTP_PASSWORD"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise ConfigError(
            f"the SMTP server {where} does not offer STARTTLS; use a server that does, or set "
            "ASSISTANT_SMTP_STARTTLS=false for a trusted local relay"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise InputError(f"the SMTP server {where} refused the recipient(s) {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as exc:
        raise ConfigError(f"cannot send mail through {where}: {type(exc).__name__}: {str(exc)[:200]}") from None
