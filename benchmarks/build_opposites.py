"""Build assistant/chains/opposites.json, the opposite-word pairs of the support check, from WordNet.

Run from the repo root (needs Debian's `wordnet-base`, 6 MB, only to rebuild; the app reads the JSON):

    apt-get install wordnet-base && python -m benchmarks.build_opposites [--wordnet /usr/share/wordnet]

A general lexical resource written by others, not a list grown from our pairs: every antonym pointer
(`!`) of WordNet 3.0 between two single words ("increase" / "decrease", "same" / "different",
"widen" / "narrow"), in all four parts of speech, read at the level of meanings: every word of the one
meaning (synset) against every word of the other ("lessen" / "increase"), and carried over to the words
WordNet derives from them (`+` pointers: "reliable" / "unreliable" gives "reliability" / "unreliability")
and to the graded forms of short adjectives ("larger" / "smaller", "farthest" / "nearest"; regular suffixes
and WordNet's own exception list). `polarity.opposite_swaps` reads it, and the support model's fit
(benchmarks/fit_support.py) decides how much it counts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assistant" / "chains" / "opposites.json"
NOTICE = ("WordNet 3.0 Copyright 2006 by Princeton University. All rights reserved. THIS SOFTWARE AND DATABASE IS "
          "PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED. "
          "BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF "
          "MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE "
          "OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR OTHER RIGHTS.")
Synset = tuple[str, str]  # (offset, pos letter)


def lemma(word: str) -> str:
    """A WordNet lemma as written in text: adjective markers like "(a)" dropped, lower case."""
    return word.split("(")[0].lower()


def read_synsets(wordnet: Path) -> dict[Synset, tuple[list[str], list[tuple[str, Synset, str]]]]:
    """Every synset: its words and its pointers (symbol, target synset, source/target word numbers).

    A data line is `offset lex_filenum ss_type w_cnt (word lex_id)* p_cnt (symbol offset pos source/target)* ...`
    (wndb(5WN)); satellite adjectives ("s") are filed with the adjectives ("a")."""
    out: dict[Synset, tuple[list[str], list[tuple[str, Synset, str]]]] = {}
    for pos, letter in (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r")):
        for line in (wordnet / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if not line[:1].isdigit():
                continue
            fields = line.split(" | ")[0].split()
            count = int(fields[3], 16)
            synset_words = [lemma(fields[4 + 2 * i]) for i in range(count)]
            k = 4 + 2 * count
            pointers = []
            for i in range(int(fields[k])):
                symbol, offset, target_pos, st = fields[k + 1 + 4 * i: k + 5 + 4 * i]
                pointers.append((symbol, (offset, "a" if target_pos == "s" else target_pos), st))
            out[(fields[0], letter)] = (synset_words, pointers)
    return out


def graded(adjective: str, exceptions: dict[str, list[str]]) -> tuple[str, str]:
    """The comparative and superlative of a one-word adjective ("large" -> "larger", "largest";
    "big" -> "bigger"; "easy" -> "easier"; WordNet's adj.exc for the irregular ones: "far" -> "farther")."""
    irregular = exceptions.get(adjective, [])
    comparative = next((w for w in irregular if w.endswith("er")), "")
    superlative = next((w for w in irregular if w.endswith("est")), "")
    if comparative and superlative:
        return comparative, superlative
    a = adjective
    if a.endswith("e"):
        stem_ = a[:-1]
    elif a.endswith("y") and len(a) > 2 and a[-2] not in "aeiou":
        stem_ = a[:-1] + "i"
    elif len(a) >= 3 and a[-1] not in "aeiouwxy" and a[-2] in "aeiou" and a[-3] not in "aeiou":
        stem_ = a + a[-1]
    else:
        stem_ = a
    return comparative or stem_ + "er", superlative or stem_ + "est"


def antonym_pairs(wordnet: Path) -> list[tuple[str, str]]:
    """Sorted single-word opposite pairs (each pair once, alphabetical) of the WordNet files in `wordnet`."""
    synsets = read_synsets(wordnet)
    exceptions: dict[str, list[str]] = {}
    for line in (wordnet / "adj.exc").read_text(encoding="latin-1").splitlines():
        inflected, base = line.split()[:2]
        exceptions.setdefault(base, []).append(inflected)
    derived: dict[tuple[Synset, str], set[str]] = {}
    for key, (words, pointers) in synsets.items():
        for symbol, target, st in pointers:
            if symbol == "+" and target in synsets and st != "0000":
                a, b = words[int(st[:2], 16) - 1], synsets[target][0][int(st[2:], 16) - 1]
                derived.setdefault((key, a), set()).add(b)
    pairs: set[tuple[str, str]] = set()

    def add(a: str, b: str) -> None:
        if a.isalpha() and b.isalpha() and a != b:
            pairs.add((min(a, b), max(a, b)))

    for key, (words, pointers) in synsets.items():
        for symbol, target, st in pointers:
            if symbol != "!" or target not in synsets:
                continue
            a, b = words[int(st[:2], 16) - 1], synsets[target][0][int(st[2:], 16) - 1]
            for x in words:
                for y in synsets[target][0]:
                    add(x, y)
            for x in derived.get((key, a), ()):
                for y in derived.get((target, b), ()):
                    add(x, y)
            if key[1] == "a" and a.isalpha() and b.isalpha() and max(len(a), len(b)) <= 7:
                for x, y in zip(graded(a, exceptions), graded(b, exceptions)):
                    add(x, y)
    return sorted(pairs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the opposite-word pairs of the support check from WordNet.")
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"), help="WordNet 3.0 dict folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if not (args.wordnet / "data.adj").exists():
        raise SystemExit(f"{args.wordnet}/data.adj not found: apt-get install wordnet-base, or pass --wordnet DIR")
    pairs = antonym_pairs(args.wordnet)
    args.out.write_text(json.dumps({"source": "WordNet 3.0 antonyms by synset, derived and graded forms (benchmarks/build_opposites.py)",
                                    "license": NOTICE, "pairs": [" ".join(p) for p in pairs]}, indent=0) + "\n", encoding="utf-8")
    print(f"{len(pairs)} pairs -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
