"""Texygen BLEU and Self-BLEU: genai_platform.metrics.bleu against the nltk sentence_bleu loop,
side by side in one run, on N sentences of the bundled Lee corpus (real text).

    .venv/bin/python bench/bleu.py [--sentences 1000] [--max-n 5]

Prints both timings, the speed ratio and the largest difference between the two results.
Target: at N = 1000 the platform is at least 20x faster than the loop, and exact (1e-9).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genai_platform.datasets.text_sources import load_documents  # noqa: E402
from genai_platform.evaluation.text_scores import sentence_tokens  # noqa: E402
from genai_platform.metrics.bleu import bleu_scores, self_bleu_scores  # noqa: E402


def lee_sentences() -> list[list[str]]:
    documents = load_documents("gensim:lee").texts
    return [s for s in sentence_tokens(documents) if len(s) >= 3]


def timed(run):
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, np.asarray(result)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--max-n", type=int, default=5)
    args = parser.parse_args()
    sentences = lee_sentences()
    if len(sentences) < 2 * args.sentences:
        raise SystemExit(f"the Lee corpus has {len(sentences)} sentences; ask for at most {len(sentences) // 2}")
    rng = np.random.default_rng(0)
    picked = [sentences[i] for i in rng.permutation(len(sentences))[: 2 * args.sentences]]
    hypotheses, references = picked[: args.sentences], picked[args.sentences:]
    weights, smooth = (1 / args.max_n,) * args.max_n, SmoothingFunction().method1
    print(f"N = {args.sentences} sentences (Lee corpus), mean length {np.mean([len(s) for s in hypotheses]):.1f} "
          f"tokens, BLEU-{args.max_n}", flush=True)
    rows = []
    for name, fast, loop in (
        ("Self-BLEU", lambda: self_bleu_scores(hypotheses, args.max_n),
         lambda: [sentence_bleu(hypotheses[:i] + hypotheses[i + 1:], h, weights, smoothing_function=smooth)
                  for i, h in enumerate(hypotheses)]),
        ("BLEU vs references", lambda: bleu_scores(hypotheses, references, args.max_n),
         lambda: [sentence_bleu(references, h, weights, smoothing_function=smooth) for h in hypotheses]),
    ):
        fast_s, fast_out = timed(fast)
        loop_s, loop_out = timed(loop)
        rows.append((name, fast_s, loop_s, float(np.max(np.abs(fast_out - loop_out))), float(fast_out.mean())))
        print(f"{name}: platform {fast_s:.3f} s, nltk loop {loop_s:.1f} s", flush=True)
    print("\n| metric | platform (s) | nltk loop (s) | speed-up | max abs difference | mean score |\n|---|---|---|---|---|---|")
    for name, fast_s, loop_s, diff, mean in rows:
        print(f"| {name} | {fast_s:.3f} | {loop_s:.1f} | {loop_s / fast_s:.0f}x | {diff:.1e} | {mean:.4f} |")


if __name__ == "__main__":
    main()
