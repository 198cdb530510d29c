"""Writes the prompts of latentkit-tiny's quality test (examples/test/fixtures/quality-prompts.json).

48 (shape, colour, background) combinations seen in training, none of them among the 12 that
sample.py's eval_sets() uses to pick checkpoints, plus the 12 held-out combinations; each with its
canonical caption in the five languages, from the same captioning code that made the training data.
Run with /usr/bin/python3 (needs numpy; no torch).
"""
import json
import os

import numpy as np

import dataset

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "examples", "test", "fixtures", "quality-prompts.json")


def checkpoint_selection_combos(n_id=12, seed=7):
    # Mirrors sample.eval_sets() without importing torch.
    rng = np.random.RandomState(seed)
    return [dataset.TRAIN_COMBOS[i] for i in rng.choice(len(dataset.TRAIN_COMBOS), n_id, replace=False)]


def entry(combo, heldout):
    s, f, b = combo
    return {
        "shape": dataset.SHAPES[s],
        "colour": dataset.COLOURS[f],
        "background": dataset.COLOURS[b],
        "heldout": heldout,
        "captions": {lang: dataset.canonical_caption(lang, s, f, b) for lang in dataset.LANGS},
    }


def main():
    used = set(checkpoint_selection_combos())
    candidates = [c for c in dataset.TRAIN_COMBOS if c not in used]
    rng = np.random.RandomState(2026)
    picked = [candidates[i] for i in sorted(rng.choice(len(candidates), 48, replace=False))]
    cases = [entry(c, False) for c in picked] + [entry(c, True) for c in dataset.HELDOUT]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"note": __doc__.strip().splitlines()[0], "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
