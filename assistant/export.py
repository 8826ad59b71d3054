"""Exports of digests and comparisons: Markdown, self-contained HTML, JSON and BibTeX.

Called by the CLI (`digest --format/--out`, `compare --format/--out`) and the UI's download
buttons. Pure functions from a `Digest` or `Comparison` to text. Everything that came from a
paper or a model (titles, abstracts, summaries, URLs) is escaped for the target format, and
only http(s) links are ever emitted.

Longer than our usual module on purpose: four formats for two documents, each format's
escaping next to its writer; split per format it would scatter one safety rule (escape what a paper
or a model wrote) over four files.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import Literal, Protocol

from assistant.chains.compare import Comparison
from assistant.chains.digest_types import Digest
from assistant.chains.aspects import ASPECT_LABELS, ASPECTS
from assistant.papers import Sentence, clean_arxiv_id
from assistant.citations import unverified_note

Format = Literal["md", "html", "json", "bib"]
FORMATS: tuple[str, ...] = ("md", "html", "json", "bib")
UNSUPPORTED_NOTE = "not supported by the cited abstract"


class _Ref(Protocol):
    n: int
    paper_id: str
    title: str
    url: str | None
    authors: list[str]
    published: str | None
    dates: list[str]


class Ref:
    """A numbered paper as exports see it (from a digest entry or a compared paper)."""

    def __init__(
        self, n: int, paper_id: str, title: str, url: str | None, authors: Sequence[str] = (),
        published: str | None = None, dates: Sequence[str] = (), upvotes: int | None = None, takeaway: str = "",
    ) -> None:
        self.n, self.paper_id, self.title, self.url = n, paper_id, title, url
        self.authors, self.published, self.dates, self.upvotes = list(authors), published, list(dates), upvotes
        self.takeaway = takeaway

    @property
    def shown_id(self) -> str:
        """The id a reader can use (an arXiv id); title-hash ids are internal and not shown."""
        return "" if self.paper_id.startswith("t:") else self.paper_id


def references(obj: Digest | Comparison) -> list[Ref]:
    """Every paper the document numbers, in number order."""
    if isinstance(obj, Digest):
        return [
            Ref(p.n, p.paper_id, p.title, p.url, p.authors, p.published, p.dates, p.upvotes, p.takeaway)
            for p in obj.all_papers
        ]
    return [
        Ref(n, p.paper_id, p.title, p.link, p.authors, p.published, p.dates, p.upvotes)
        for n, p in enumerate(obj.papers, start=1)
    ]


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no `javascript:`, no spaces, no quotes)."""
    if not url:
        return None
    url = url.strip()
    if not re.match(r"^https?://[^\s\"'<>`]+$", url, re.IGNORECASE):
        return None
    return url


def render(obj: Digest | Comparison, fmt: str) -> str:
    """The document in `fmt` (md, html, json or bib)."""
    if fmt == "md":
        return to_markdown(obj)
    if fmt == "html":
        return to_html(obj)
    if fmt == "json":
        return to_json(obj)
    if fmt == "bib":
        return to_bibtex(references(obj))
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def to_json(obj: Digest | Comparison) -> str:
    return json.dumps(obj.to_json(), ensure_ascii=False, indent=2, default=str) + "\n"


# ---------------------------------------------------------------------------- Markdown

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
_MARKER = re.compile(r"(\[\d+\])")


def md_escape(text: str) -> str:
    """Text that renders literally in CommonMark (no emphasis, links, HTML or table breaks)."""
    return _MD_SPECIAL.sub(r"\\\1", re.sub(r"\s+", " ", str(text)))


def md_cited(text: str) -> str:
    """Escape a cited sentence but keep its `[n]` markers (they link via reference definitions)."""
    return "".join(p if _MARKER.fullmatch(p) else md_escape(p) for p in _MARKER.split(text))


def _md_sentences(sentences: Sequence[Sentence]) -> str:
    parts = []
    for s in sentences:
        text = md_cited(s.text)
        if s.unverified:
            parts.append(f"{text} *({md_escape(unverified_note(s))})*")
        else:
            parts.append(text if s.supported else f"{text} *(\u26a0 {UNSUPPORTED_NOTE})*")
    return " ".join(parts)


def _md_link(title: str, url: str | None) -> str:
    link = safe_url(url)
    label = md_escape(title)
    return f"[{label}](<{link}>)" if link else label


def _md_definitions(refs: Sequence[Ref]) -> list[str]:
    lines = [f"[{r.n}]: <{link}>" for r in refs if (link := safe_url(r.url))]
    return ["", *lines] if lines else []


def to_markdown(obj: Digest | Comparison) -> str:
    return _digest_md(obj) if isinstance(obj, Digest) else _compare_md(obj)


def _paper_line(p: Ref, bullet: str = "-") -> str:
    ident = f" · `{md_escape(p.shown_id)}`" if p.shown_id else ""
    extra = f" · {p.upvotes} upvotes" if p.upvotes is not None else ""
    line = f" — {md_escape(p.takeaway)}" if p.takeaway else ""
    return f"{bullet} [{p.n}] {_md_link(p.title, p.url)}{ident}{extra}{line}"


def _highlight_note(d: Digest) -> str:
    return "most upvoted" if d.highlights_by == "upvotes" else "the most central paper of each largest topic"


def _digest_md(d: Digest) -> str:
    refs = references(d)
    by_n = {r.n: r for r in refs}
    n_topics = sum(not t.other for t in d.topics)
    out = [
        f"# Paper digest: {md_escape(d.week)}",
        "",
        f"{d.n_papers} papers listed {d.since} to {d.until}, in {n_topics} topics. "
        f"Summaries written by {md_escape(d.model)} from the abstracts; every sentence cites its papers "
        "and was checked against their abstracts.",
    ]
    if not d.n_papers:
        out += ["", "No papers were listed in this period."]
    if d.top_upvoted:
        out += ["", f"## Highlights ({_highlight_note(d)})", ""]
        out += [_paper_line(by_n[p.n], "1.") for p in d.top_upvoted]
    change = d.new_vs_last_week
    if change is not None and d.n_papers:
        out += ["", f"## New vs the previous period ({md_escape(change.previous)}, {change.previous_papers} papers)", ""]
        if not change.previous_papers:
            out.append("- No papers are stored for the previous period.")
        else:
            out.append("- New topics: " + (", ".join(md_escape(t) for t in change.appeared) or "none"))
            grew = [f"{md_escape(g.title)} ({g.last_week} → {g.this_week})" for g in change.grew]
            out.append("- Grew: " + (", ".join(grew) or "none"))
    for i, topic in enumerate(d.topics, start=1):
        status = f" *({topic.status})*" if topic.status in ("new", "grew") else ""
        heading = md_escape(topic.title) if topic.other else f"{i}. {md_escape(topic.title)}"
        out += ["", f"## {heading}{status}", ""]
        if topic.keywords:
            out += [f"Keywords: {md_escape(', '.join(topic.keywords))}", ""]
        if topic.sentences:
            out += [_md_sentences(topic.sentences), ""]
        out += [_paper_line(by_n[p.n]) for p in topic.papers]
    out += _md_definitions(refs)
    return "\n".join(out) + "\n"


def _compare_md(c: Comparison) -> str:
    refs = references(c)
    title = f"Comparison: {md_escape(c.query)}" if c.query else "Comparison"
    out = [f"# {title}", "", _md_sentences(c.sentences) or "(no summary)", ""]
    out.append("| Paper | " + " | ".join(ASPECT_LABELS[a] for a in ASPECTS) + " |")
    out.append("|" + "---|" * (len(ASPECTS) + 1))
    for row in c.table:
        cells = []
        for a in ASPECTS:
            cell = row.cells[a]
            text = md_cited(cell.text)
            if cell.source == "abstract":
                text = f"“{text}” (quoted)" if not text.startswith("not stated") else text
            cells.append(text)
        out.append(f"| [{row.n}] {_md_link(row.title, row.url)} | " + " | ".join(cells) + " |")
    out += ["", f"Model: {md_escape(c.model)}. Quoted cells are abstract sentences shown where an extracted phrase was not supported.", ""]
    out += [_paper_line(r) for r in refs]
    out += _md_definitions(refs)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------- HTML

_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem}
.meta{color:#555;font-size:.92rem}.kw{color:#555;font-size:.9rem;margin:.2rem 0 .6rem}
.badge{display:inline-block;font-size:.75rem;padding:0 .4rem;border-radius:.6rem;background:#e6f4ea;color:#137333;margin-left:.4rem;vertical-align:middle}
.unsupported{background:#fff4e5;border-bottom:2px dotted #e37400}.unverified,.quote{color:#666}.unsupported::after{content:" \\26A0";color:#e37400}
a.cite{text-decoration:none;font-size:.85em}ol.papers,ul.papers{padding-left:1.2rem}li{margin:.25rem 0}
.id{color:#777;font-size:.85rem}.votes{color:#555;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.92rem}th,td{border:1px solid #ddd;padding:.4rem;vertical-align:top;text-align:left}
th{background:#f6f6f6}.quoted{font-style:italic;color:#333}.none{color:#999}
footer{margin-top:2.5rem;color:#777;font-size:.85rem}
@media (prefers-color-scheme:dark){body{background:#111;color:#eee}.meta,.kw,.votes,.id{color:#aaa}th{background:#222}th,td{border-color:#444}.unsupported{background:#3a2a10}}
""".strip()


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _h_cited(text: str) -> str:
    """Escape, then turn `[n]` markers into links to the reference list."""
    return _MARKER.sub(
        lambda m: f'<a class="cite" href="#ref-{m.group(1)[1:-1]}">{m.group(1)}</a>', _e(" ".join(text.split()))
    )


def _h_sentences(sentences: Sequence[Sentence]) -> str:
    parts = []
    for s in sentences:
        if s.supported:
            parts.append(_h_cited(s.text))
        elif s.unverified:
            parts.append(f'<span class="unverified" title="{_e(unverified_note(s))}">{_h_cited(s.text)}</span>'
                         f' <span class="quote">({_e(unverified_note(s))})</span>')
        else:
            parts.append(f'<span class="unsupported" title="{_e(UNSUPPORTED_NOTE)}">{_h_cited(s.text)}</span>')
    return " ".join(parts)


def _h_link(title: str, url: str | None) -> str:
    link = safe_url(url)
    return f'<a href="{_e(link)}">{_e(title)}</a>' if link else _e(title)


def _h_paper(p: Ref, anchor: bool = True) -> str:
    votes = f' <span class="votes">· {p.upvotes} upvotes</span>' if p.upvotes is not None else ""
    ident = f' id="ref-{p.n}"' if anchor else ""
    shown = f' <span class="id">{_e(p.shown_id)}</span>' if p.shown_id else ""
    line = f' <span class="takeaway">— {_e(p.takeaway)}</span>' if p.takeaway else ""
    return f"<li{ident}>[{p.n}] {_h_link(p.title, p.url)}{shown}{votes}{line}</li>"


def _page(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            *body,
            "<footer>Made by the paper digest assistant. Every summary sentence cites its papers and was checked "
            "against their abstracts; sentences marked \u26a0 are not supported by the cited abstract, grey ones could "
            "not be verified (the abstract's closest sentence follows them).</footer>",
            "</body>",
            "</html>",
        ]
    ) + "\n"


def to_html(obj: Digest | Comparison) -> str:
    """A self-contained page (inline CSS, no scripts, no external resources)."""
    return _digest_html(obj) if isinstance(obj, Digest) else _compare_html(obj)


def _digest_html(d: Digest) -> str:
    refs = {r.n: r for r in references(d)}
    n_topics = sum(not t.other for t in d.topics)
    body = [
        f"<h1>Paper digest: {_e(d.week)}</h1>",
        f'<p class="meta">{d.n_papers} papers listed {_e(d.since)} to {_e(d.until)}, in {n_topics} topics. '
        f"Summaries by {_e(d.model)}.</p>",
    ]
    if not d.n_papers:
        body.append("<p>No papers were listed in this period.</p>")
    if d.top_upvoted:
        body.append(f"<h2>Highlights ({_e(_highlight_note(d))})</h2><ol>")
        body += [_h_paper(refs[p.n], anchor=False) for p in d.top_upvoted]
        body.append("</ol>")
    change = d.new_vs_last_week
    if change is not None and d.n_papers:
        body.append(f"<h2>New vs the previous period ({_e(change.previous)}, {change.previous_papers} papers)</h2><ul>")
        if not change.previous_papers:
            body.append("<li>No papers are stored for the previous period.</li>")
        else:
            body.append("<li>New topics: " + (", ".join(_e(t) for t in change.appeared) or "none") + "</li>")
            grew = ", ".join(f"{_e(g.title)} ({g.last_week} → {g.this_week})" for g in change.grew)
            body.append(f"<li>Grew: {grew or 'none'}</li>")
        body.append("</ul>")
    for i, topic in enumerate(d.topics, start=1):
        badge = f'<span class="badge">{_e(topic.status)}</span>' if topic.status in ("new", "grew") else ""
        heading = _e(topic.title) if topic.other else f"{i}. {_e(topic.title)}"
        body.append(f'<section id="topic-{i}"><h2>{heading}{badge}</h2>')
        if topic.keywords:
            body.append(f'<p class="kw">Keywords: {_e(", ".join(topic.keywords))}</p>')
        if topic.sentences:
            body.append(f"<p>{_h_sentences(topic.sentences)}</p>")
        body.append('<ul class="papers">' + "".join(_h_paper(refs[p.n]) for p in topic.papers) + "</ul></section>")
    return _page(f"Paper digest {d.week}", body)


def _compare_html(c: Comparison) -> str:
    refs = references(c)
    title = f"Comparison: {c.query}" if c.query else "Comparison"
    body = [f"<h1>{_e(title)}</h1>", f'<p class="meta">Model: {_e(c.model)}</p>']
    body.append(f"<p>{_h_sentences(c.sentences) or '(no summary)'}</p>")
    head = "".join(f"<th>{_e(ASPECT_LABELS[a])}</th>" for a in ASPECTS)
    body.append(f"<table><thead><tr><th>Paper</th>{head}</tr></thead><tbody>")
    for row in c.table:
        tds = []
        for a in ASPECTS:
            cell = row.cells[a]
            cls = {"abstract": "quoted", "none": "none"}.get(cell.source, "")
            hint = ' title="quoted from the abstract"' if cell.source == "abstract" else ""
            tds.append(f'<td class="{cls}"{hint}>{_h_cited(cell.text)}</td>')
        body.append(f"<tr><td>[{row.n}] {_h_link(row.title, row.url)}</td>{''.join(tds)}</tr>")
    body.append("</tbody></table>")
    body.append('<p class="meta">Italic cells quote the abstract where an extracted phrase was not supported.</p>')
    body.append("<h2>Papers</h2><ol class=\"papers\" style=\"list-style:none;padding:0\">")
    body += [_h_paper(r) for r in refs]
    body.append("</ol>")
    return _page(title, body)


# ---------------------------------------------------------------------------- BibTeX

_BIB_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def bib_escape(text: str) -> str:
    """A field value with braces and TeX specials escaped (always brace-balanced)."""
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in " ".join(str(text).split()))


def _year(ref: _Ref) -> str | None:
    if ref.published and re.match(r"^\d{4}", ref.published):
        return ref.published[:4]
    arxiv = clean_arxiv_id(ref.paper_id)
    if arxiv and re.match(r"^\d{4}\.", arxiv):
        return f"20{arxiv[:2]}"
    if arxiv and "/" in arxiv:
        yy = int(arxiv.split("/")[1][:2])
        return f"{1900 + yy if yy >= 91 else 2000 + yy}"
    return None


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def _bib_key(ref: _Ref, year: str | None, used: set[str]) -> str:
    author = _ascii_word(ref.authors[0].split()[-1]) if ref.authors and ref.authors[0].split() else ""
    words = [_ascii_word(w) for w in re.findall(r"[^\W_]+", ref.title)]
    word = next((w for w in words if len(w) > 3 and w not in {"with", "from", "that", "this", "towards"}), "")
    base = f"{author or 'paper'}{year or ''}{word}" or "paper"
    key, suffix = base, ord("a")
    while key in used:
        key = f"{base}{chr(suffix)}"
        suffix += 1
    used.add(key)
    return key


def _bib_author(name: str) -> str:
    name = bib_escape(name)
    return f"{{{name}}}" if re.search(r"\band\b", name, re.IGNORECASE) else name


def to_bibtex(refs: Sequence[_Ref]) -> str:
    """One `@misc` per paper: title, authors, year, eprint + archivePrefix (arXiv papers) and url."""
    used: set[str] = set()
    entries = []
    for ref in refs:
        year = _year(ref)
        fields = [("title", f"{{{bib_escape(ref.title)}}}")]
        if ref.authors:
            fields.append(("author", " and ".join(_bib_author(a) for a in ref.authors if a.strip())))
        if year:
            fields.append(("year", year))
        arxiv = clean_arxiv_id(ref.paper_id)
        if arxiv:
            fields += [("eprint", arxiv), ("archivePrefix", "arXiv")]
        link = safe_url(ref.url) or (f"https://arxiv.org/abs/{arxiv}" if arxiv else None)
        if link:
            fields.append(("url", link.replace("{", "%7B").replace("}", "%7D")))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        entries.append(f"@misc{{{_bib_key(ref, year, used)},\n{body}\n}}")
    return "\n\n".join(entries) + ("\n" if entries else "")
