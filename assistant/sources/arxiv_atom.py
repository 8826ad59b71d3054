"""Parser for a page of the arXiv API (Atom XML) -> flat records for `tabular.paper_from_record`.

`assistant fetch --arxiv` calls `parse_atom` on each page it downloads and turns the records into
papers; a page that cannot be used raises `AtomError` with a message naming what the API sent.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from assistant.papers import clean_arxiv_id, normalize_text

ATOM_NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
    "arxiv": "http://arxiv.org/schemas/atom",
}


class AtomError(ValueError):
    """An arXiv API page that is not Atom XML, or the API's own error entry."""


def _text(node: ET.Element | None) -> str:
    return normalize_text(node.text or "") if node is not None else ""


def parse_atom(body: bytes) -> tuple[int | None, list[dict[str, Any]]]:
    """An arXiv API Atom page -> (opensearch:totalResults, one flat record per entry).

    Raises AtomError for XML that does not parse or for the API's own error entry.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        start = body[:30].decode("utf-8", "replace").strip() + ("..." if len(body) > 30 else "")
        raise AtomError(f"the arXiv API sent a response that is not Atom XML ({exc}; starts with {start!r})") from exc
    total_node = root.find("opensearch:totalResults", ATOM_NS)
    total = int(total_node.text) if total_node is not None and (total_node.text or "").strip().isdigit() else None
    records = []
    for entry in root.findall("atom:entry", ATOM_NS):
        raw_id = _text(entry.find("atom:id", ATOM_NS))
        if "/api/errors" in raw_id:
            raise AtomError(f"the arXiv API refused the query: {_text(entry.find('atom:summary', ATOM_NS))}")
        arxiv_id = clean_arxiv_id(raw_id.replace("https://", "http://"))
        published = _text(entry.find("atom:published", ATOM_NS))[:10]
        primary = entry.find("arxiv:primary_category", ATOM_NS)
        records.append(
            {
                "id": arxiv_id or raw_id,
                "title": _text(entry.find("atom:title", ATOM_NS)),
                "summary": _text(entry.find("atom:summary", ATOM_NS)),
                "authors": [_text(a.find("atom:name", ATOM_NS)) for a in entry.findall("atom:author", ATOM_NS)],
                "published": published,
                "list_date": published,
                "url": f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None,
                "categories": [c.get("term", "") for c in entry.findall("atom:category", ATOM_NS) if c.get("term")],
                "primary_category": primary.get("term") if primary is not None else None,
            }
        )
    return total, records
