"""All persistence: nothing outside this package touches the data dir or imports chromadb.

One module per resource, one facade (`Store`, in `facade.py`, whose docstring is the crash-safe
write order):

- `paper_table`  the SQLite paper table (papers, dates, generation); other SQLite resources share its connection
- `vectors`      chunk vectors in Chroma (embedded or a server)
- `keywords`     the BM25 keyword index, its analyser and its files
- `cache`        model outputs (extractions, summaries) keyed by what they depend on
- `sentence_vectors` query-time sentence vectors keyed by their text, kept across processes
- `fetch_log`    which days `assistant fetch` fetched, and the raw responses
- `lock`         the cross-process write lock
- `diagnostics`  read-only and full-disk hints for error messages

A new resource is a new module here with its own `SCHEMA` (if it lives in the paper table's
database), passed to `PaperTable` by `Store.__init__`.
"""

from assistant.store.facade import Store
from assistant.store.fetch_log import FetchLog
from assistant.store.keywords import KEYWORD_ANALYZER, KeywordIndex, keyword_text

__all__ = ["KEYWORD_ANALYZER", "FetchLog", "KeywordIndex", "Store", "keyword_text"]
