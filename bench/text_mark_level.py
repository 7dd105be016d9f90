"""The text watermark's false-positive rate per key, not only over keys: why the green list is chosen by 4
characters of context (marking/text_mark.py).

    .venv/bin/python bench/text_mark_level.py [--keys 200] [--implementation-keys 40]

Real text cut into pieces of 300 characters (the bundled Lee corpus; gensim's head500 English Wikipedia
articles), each piece scored as the detector scores a text: its distinct units (CONTEXT characters, next
character), the green ones among them, a binomial tail at GAMMA. For contexts of 1-4 characters every key is a
random colouring of the units (what any keyed hash gives); each key's share of pieces called marked at 1% is one
draw of the per-key rate. Then the same with the platform's own text_mark_score at its CONTEXT. Prints the
median, 95th percentile and worst key, and the share of keys above 2%.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.datasets.text_sources import load_documents  # noqa: E402
from genai_platform.evaluation.marks import text_pieces  # noqa: E402
from genai_platform.marking.key import WatermarkKey  # noqa: E402
from genai_platform.marking.text_mark import CONTEXT, GAMMA, text_mark_score  # noqa: E402

LEVEL, PIECE = 0.01, 300


def corpora() -> dict[str, list[str]]:
    wikipedia = Path(importlib.util.find_spec("gensim").origin).parent / "test" / "test_data" / "head500.noblanks.cor"
    articles = [line.strip() for line in wikipedia.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {"lee": text_pieces(load_documents("gensim:lee").texts, PIECE),
            "wikipedia": text_pieces(articles, PIECE, limit=3000)}


def row(name: str, rates: np.ndarray) -> str:
    return (f"| {name} | {np.median(rates):.2%} | {np.quantile(rates, 0.95):.2%} | {rates.max():.2%} | "
            f"{np.mean(rates > 0.02):.0%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=200)
    parser.add_argument("--implementation-keys", type=int, default=40)
    args = parser.parse_args()
    print("| corpus, context | median key | 95th percentile | worst key | keys above 2% |\n|---|---|---|---|---|")
    for corpus, pieces in corpora().items():
        for width in range(1, CONTEXT + 1):
            index: dict[str, int] = {}
            units = [np.array(sorted({index.setdefault(p[i - width:i + 1], len(index)) for i in range(width, len(p))}))
                     for p in pieces]
            counts = np.array([len(u) for u in units])
            rates = []
            for key in range(args.keys):
                green = np.random.default_rng(key).random(len(index)) < GAMMA
                found = binom.sf(np.array([green[u].sum() for u in units]) - 1, counts, GAMMA) < LEVEL
                rates.append(found.mean())
            print(row(f"{corpus} ({len(pieces)} pieces), {width} character(s), random colourings", np.array(rates)),
                  flush=True)
        rates = np.array([np.mean([text_mark_score(WatermarkKey(f"text mark level bench key {k}".encode()), [p]).p_value < LEVEL
                                   for p in pieces]) for k in range(args.implementation_keys)])
        print(row(f"{corpus}, text_mark_score ({CONTEXT} characters)", rates), flush=True)


if __name__ == "__main__":
    main()
