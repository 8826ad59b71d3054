"""Calibrate `GroundingConfig.lexical_weight` on the DEV cases: which sentence of a paper answers the question.

    python -m benchmarks.fit_quotes

A paper's answering sentence (the centre of what the model is shown, and the app's quote when the
model gives nothing usable) is the own-work sentence with the highest cosine with the question plus
`lexical_weight` x the rarity-weighted share of the question's words it states. For each weight on a
grid, over the answerable dev cases whose expected paper is retrieved (top 3, as the app), this counts
how often the app's quotes (`Support.quotes`: the first one, two and all `quoted_sentences`) and the
model's window (the sentences `qa.focus_evidence` shows) state every key-fact group that the paper's
abstract states. It prints the
table and the best weight (ties: the smaller one); the field's default (`chains/grounding_config.py`) is then set by hand with the date.
The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchmarks.answers_bench import SHARED, bench_settings, default_data_dir, ensure_store, load_cases
from benchmarks.answers_grade import UNANSWERABLE, contains

GRID = (0.0, 0.3, 0.5, 0.8, 1.2, 1.5, 2.0, 3.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Calibrate the lexical weight of the answering-sentence choice on dev.")
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--shared", type=Path, default=SHARED)
    args = parser.parse_args(argv)
    from dataclasses import replace

    from assistant.chains import answerable
    from assistant.chains.grounding_config import GROUNDING
    from assistant.chains.qa import focus_evidence
    from assistant.chains.routing import classify
    from assistant.service import Assistant

    data = args.data or default_data_dir()
    ensure_store(data, args.shared)
    cases = [c for c in load_cases("dev") if c["type"] not in UNANSWERABLE and c.get("key_facts")]
    app = Assistant(bench_settings(data))
    table = []
    try:
        searched = [(c, app.search(c["question"], k=app.settings.top_k)) for c in cases]
        for weight in GRID:
            answerable.GROUNDING = replace(GROUNDING, lexical_weight=weight)  # the judge reads its module's config
            quoted, shown, n = [0] * GROUNDING.quoted_sentences, 0, 0
            for case, hits in searched:
                evidence = focus_evidence(case["question"], hits, app.embed_sentences, app.settings.evidence_sentences,
                                          app.retriever.term_weights, classify(app.embed_sentences([case["question"]])[0]))
                for i, hit in enumerate(hits):
                    if hit.paper.paper_id not in case["expected"] or evidence.verdict is None:
                        continue
                    groups = [g for g in case["key_facts"] if any(contains(hit.paper.abstract, a) for a in g)]
                    if not groups:
                        continue
                    n += 1
                    support = evidence.verdict.supports[i]
                    window = " ".join(evidence.sentences[i])  # empty when the paper is not shown (not answering)
                    texts = [" ".join(support.quotes[: k + 1]) for k in range(len(quoted))] + [window]
                    states = [all(any(contains(text, a) for a in g) for g in groups) for text in texts]
                    quoted = [q + ok for q, ok in zip(quoted, states)]
                    shown += states[-1]
            table.append({"weight": weight, "pairs": n, "quotes_state_facts": round(quoted[-1] / max(n, 1), 3),
                          "by_quotes": [round(q / max(n, 1), 3) for q in quoted], "window_states_facts": round(shown / max(n, 1), 3)})
            print(json.dumps(table[-1]), file=sys.stderr)
    finally:
        app.close()
    best = max(table, key=lambda r: (r["quotes_state_facts"] + r["window_states_facts"], -r["weight"]))
    print(json.dumps({"table": table, "best": best}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
