"""The personal digest: a "for you" section (top papers, why, one takeaway each) before the usual topic groups.

The topic groups are the ordinary digest (every sentence cited and checked). The section's papers
keep their digest numbers, so its `[n]` point at the same references; each takeaway is the
digest's own checked per-paper line (`chains.takeaway`).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.errors import InputError
from assistant.export import md_escape, render
from assistant.foryou.delivery import send_mail

if TYPE_CHECKING:
    from assistant.chains.digest import Digest
    from assistant.foryou.service import ForYou


@dataclass
class ForYouItem:
    n: int
    paper_id: str
    title: str
    url: str | None
    reasons: list[str]
    takeaway: str


@dataclass
class PersonalDigest:
    digest: Digest
    profile: str
    items: list[ForYouItem] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"profile": self.profile, "for_you": [vars(i) for i in self.items], **self.digest.to_json()}


def personal_digest(fy: ForYou, k: int = 5, name: str = "default", **digest_args: object) -> PersonalDigest:
    """The period's digest with the profile's top `k` papers first (`digest_args` go to `Assistant.digest`).

    `k=0`: no "for you" section (the plain digest, e.g. only to be mailed).
    """
    profile = fy.profile(name)
    if k and profile.empty:
        from assistant.foryou.service import HOW_TO_START

        raise InputError(f"profile {name!r} is empty, so there is no 'for you' section: {HOW_TO_START}")
    digest = fy.app.digest(**digest_args)  # type: ignore[arg-type]
    numbers = {p.paper_id: p for p in digest.all_papers}
    papers = list(fy.app.store.get_papers(numbers).values())
    ranked = fy.rank_papers(papers, profile)[:k] if papers and k else []
    items = [
        ForYouItem(numbers[r.paper.paper_id].n, r.paper.paper_id, r.paper.title, r.paper.link, r.reasons,
                   numbers[r.paper.paper_id].takeaway)
        for r in ranked
    ]
    return PersonalDigest(digest, name, items)


def render_personal(pd: PersonalDigest, fmt: str) -> str:
    """md / html / json with the "for you" section first; bib is the digest's references as usual."""
    if fmt == "json":
        return json.dumps(pd.to_json(), ensure_ascii=False, indent=2, default=str) + "\n"
    base = render(pd.digest, fmt)
    if not pd.items:
        return base
    if fmt == "md":
        lines = ["## For you", "", f"Ranked for profile *{md_escape(pd.profile)}*.", ""]
        for i, it in enumerate(pd.items, start=1):
            lines.append(f"{i}. [{it.n}] **{md_escape(it.title)}**. {md_escape(it.takeaway)} [{it.n}]  ")
            lines.append(f"   *Why:* {md_escape('; '.join(it.reasons))}")
        head, _, rest = base.partition("\n\n")
        intro, _, rest = rest.partition("\n\n")
        return "\n\n".join([head, intro, "\n".join(lines), rest])
    if fmt == "html":
        parts = ["<h2>For you</h2>", f'<p class="meta">Ranked for profile <em>{html.escape(pd.profile)}</em>.</p><ol>']
        for it in pd.items:
            parts.append(
                f'<li><a class="cite" href="#ref-{it.n}">[{it.n}]</a> <strong>{html.escape(it.title)}</strong>. '
                f'{html.escape(it.takeaway)} <a class="cite" href="#ref-{it.n}">[{it.n}]</a>'
                f"<br><em>Why:</em> {html.escape('; '.join(it.reasons))}</li>"
            )
        parts.append("</ol>")
        at = base.find("<h2")
        at = at if at >= 0 else base.find("<footer>")
        return base[:at] + "\n".join(parts) + "\n" + base[at:]
    return base


def mail_digest(settings: Settings, to: list[str], pd: PersonalDigest) -> None:
    """E-mail the digest: the HTML page with the Markdown text as the plain-text part."""
    title = "Papers for you" if pd.items else "Paper digest"
    send_mail(settings, to, f"{title}: {pd.digest.week}", render_personal(pd, "html"), render_personal(pd, "md"))
