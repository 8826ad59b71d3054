"""Reading papers ahead of questions: every stored paper's title and abstract sentences embedded once and
kept in the store, so a first question about a paper embeds only itself (and the draft).

The question-time judge embeds what `chains.answerable.paper_texts` gives for each retrieved paper;
done at question time, that was most of a first question's cost. Done inside ingest, it would halve ingest
throughput: these are extra int8 ONNX runs, because the vectors must be the query-time engine's, bit for
bit, for answers to stay the same (the bulk torch path differs slightly). So `Assistant.ingest` starts a
reader after it (`Settings.read_after_ingest`): by default a separate low-priority process, detached as
`git gc --auto` detaches, that fills the kept vectors newest papers first and exits. The vectors are a
cache keyed by their text (`store.SentenceVectors`): a reader killed half way, or racing a question
that keeps the same text, leaves nothing wrong, only work for later.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Sequence

from filelock import Timeout

from assistant.config import Settings
from assistant.embeddings import Embedder, make_embedder
from assistant.papers import Paper
from assistant.store import Store

READ_BATCH = 64
"""Papers per round of look-up, embed and keep (one transaction of ~600 vectors)."""

NICENESS = 10
"""How much the background reader yields the CPU to questions, the local model and ingest."""


def read_papers(
    store: Store, embedder: Embedder, texts_of: Callable[[Paper], list[str]], ids: Sequence[str] | None = None
) -> int:
    """Embed and keep the texts (`texts_of`) of the stored papers `ids` (default: all, newest first) that
    are not kept yet; returns how many texts were embedded (0: every paper was read already)."""
    kept = store.sentence_vectors(embedder.vector_space)
    ids = list(ids) if ids is not None else store.ids_newest_first()
    embedded = 0
    for start in range(0, len(ids), READ_BATCH):
        papers = store.get_papers(ids[start : start + READ_BATCH])
        texts = list(dict.fromkeys(t for p in papers.values() for t in texts_of(p)))
        have = kept.get(texts)
        missing = [t for t in texts if t not in have]
        if missing:
            kept.put(dict(zip(missing, embedder.embed(missing))))
            embedded += len(missing)
    return embedded


def start_reader(settings: Settings) -> subprocess.Popen[bytes]:
    """Start the background reader of `settings.data_dir` (`python -m assistant.reading`); it outlives the caller.

    The settings go over stdin (pickled), so the reader uses the caller's data dir and embedder even
    when they were not read from the environment.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant.reading"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    assert proc.stdin is not None
    with proc.stdin:
        proc.stdin.write(pickle.dumps(settings))
    return proc


def read_until_done(store: Store, embedder: Embedder, texts_of: Callable[[Paper], list[str]]) -> int:
    """Read every stored paper, then pass after pass only the papers ingested or changed (another content
    hash) since the pass before, until a pass finds none; returns how many texts were embedded. A later
    pass looks up only what is new, not every paper's texts again."""
    seen: dict[str, str] = {}
    embedded = 0
    while fresh := _changed_since(store, seen):
        embedded += read_papers(store, embedder, texts_of, fresh)
    return embedded


def _changed_since(store: Store, seen: dict[str, str]) -> list[str]:
    """The stored papers (newest first) whose content hash is not the one `seen` records; records it."""
    hashes = store.paper_hashes()
    fresh = [pid for pid in store.ids_newest_first() if pid in hashes and seen.get(pid) != hashes[pid][0]]
    seen.update({pid: hashes[pid][0] for pid in fresh})
    return fresh


def main() -> int:
    """The background reader: read every unread paper, then the papers ingested meanwhile (`read_until_done`),
    then exit. A second reader of the same data dir exits at once: the first one's next pass reads what was
    ingested after it started."""
    settings: Settings = pickle.load(sys.stdin.buffer)
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    from assistant.chains.answerable import paper_texts

    embedder = make_embedder(settings)
    store = Store(settings, embedder.name, getattr(embedder, "dim", 0))
    try:
        lock = store.read_lock()
        try:
            lock.acquire()
        except Timeout:
            return 0
        try:
            read_until_done(store, embedder, paper_texts)
        finally:
            lock.release()
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
