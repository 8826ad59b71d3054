"""Streamlit front end of the paper digest assistant: `assistant ui` (or `streamlit run ui/app.py`).

Sets up the page, shows the status sidebar and routes to the page scripts in this folder
(chat, library, compare, digest, for you). Thin by design: the pages call `assistant.*` and only render.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

UI_DIR = Path(__file__).resolve().parent
if str(UI_DIR) not in sys.path:  # the page scripts import `uikit` from this folder
    sys.path.insert(0, str(UI_DIR))

from uikit import code_text, md_escape, runtime_or_stop  # noqa: E402

# No page icons: a page's icon becomes the tab's favicon, and Material ones are fetched from a font CDN
# (the app must work offline). The emoji page_icon in main() is an inline SVG.
PAGES = [
    st.Page(UI_DIR / "chat_page.py", title="Ask", default=True),
    st.Page(UI_DIR / "library_page.py", title="Library", url_path="library"),
    st.Page(UI_DIR / "compare_page.py", title="Compare", url_path="compare"),
    st.Page(UI_DIR / "digest_page.py", title="Weekly digest", url_path="digest"),
    st.Page(UI_DIR / "foryou_page.py", title="For you", url_path="for-you"),
]

WIDE_PAGES = {"compare"}  # the comparison table needs the width


def status_sidebar() -> None:
    """Model back end, store mode, corpus size and data dir, on every page."""
    runtime = runtime_or_stop()
    assistant = runtime.assistant
    with st.sidebar:
        st.subheader("Status")
        try:
            stats = assistant.stats(vectors=False)  # the paper table: no wait for Chroma
            model = assistant.model_label
        except Exception as exc:  # noqa: BLE001 - the sidebar must never show a traceback
            st.error(md_escape(f"Status unavailable: {exc}"))
            return
        st.markdown(f"**Model:** `{code_text(model)}`")
        st.markdown(f"**Store:** {md_escape(str(stats.get('store', assistant.settings.store_mode)))}")
        c1, c2 = st.columns(2)
        c1.metric("papers", stats.get("papers", 0))
        c2.metric("chunks", stats.get("chunks", 0))
        st.caption(f"Data dir: `{code_text(str(assistant.settings.data_dir))}`")


def main() -> None:
    page = st.navigation(PAGES)
    layout = "wide" if page.url_path in WIDE_PAGES else "centered"
    st.set_page_config(page_title="Paper digest assistant", page_icon="📄", layout=layout)
    status_sidebar()
    page.run()


main()
