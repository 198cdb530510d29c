"""Procedural shapes dataset for latentkit-tiny.

64x64 RGB, one shape (circle/square/triangle) in one of 8 colours on a
background of a different colour. Rendered 4x supersampled with PIL and
box-downsampled (anti-aliased). Captions in en/fr/es/de/zh.

  /usr/bin/python3 dataset.py            # builds .runs/dataset.pt (cached)
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.path.join(HERE, ".runs")
MODEL_DIR = os.path.join(HERE, "..", "..", "packages", "model-tiny", "model")

SHAPES = ["circle", "square", "triangle"]
COLOURS = ["red", "green", "blue", "yellow", "white", "black", "orange", "purple"]
PALETTE = {
    "red": (220, 30, 30),
    "green": (30, 170, 50),
    "blue": (30, 60, 220),
    "yellow": (245, 220, 30),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "orange": (245, 140, 20),
    "purple": (140, 40, 200),
}
PALETTE_ARR = np.array([PALETTE[c] for c in COLOURS], dtype=np.float32)
LANGS = ["en", "fr", "es", "de", "zh"]
SIZE = 64
SS = 4  # supersampling factor
MIN_FRAC, MAX_FRAC = 0.34, 0.70

ALL_COMBOS = [(s, f, b) for s in range(3) for f in range(8) for b in range(8) if f != b]  # 168


def heldout_combos(n=12, seed=1234):
    """Fixed held-out (shape, fg, bg) combos: 4 per shape, no (fg,bg) pair repeated,
    each colour used at most twice as fg and twice as bg."""
    rng = np.random.RandomState(seed)
    order = rng.permutation(len(ALL_COMBOS))
    chosen, pairs = [], set()
    per_shape = [0, 0, 0]
    fg_n = [0] * 8
    bg_n = [0] * 8
    for i in order:
        s, f, b = ALL_COMBOS[i]
        if per_shape[s] >= n // 3 or (f, b) in pairs or fg_n[f] >= 2 or bg_n[b] >= 2:
            continue
        chosen.append((s, f, b)); pairs.add((f, b)); per_shape[s] += 1; fg_n[f] += 1; bg_n[b] += 1
        if len(chosen) == n:
            break
    return sorted(chosen)


HELDOUT = heldout_combos()
TRAIN_COMBOS = [c for c in ALL_COMBOS if c not in set(HELDOUT)]

# ---------------------------------------------------------------- captions
FR_COL = {"red": "rouge", "green": "vert", "blue": "bleu", "yellow": "jaune", "white": "blanc",
          "black": "noir", "orange": "orange", "purple": "violet"}
FR_SHAPE = {"circle": "cercle", "square": "carré", "triangle": "triangle"}
ES_COL = {"red": "rojo", "green": "verde", "blue": "azul", "yellow": "amarillo", "white": "blanco",
          "black": "negro", "orange": "naranja", "purple": "morado"}
ES_SHAPE = {"circle": "círculo", "square": "cuadrado", "triangle": "triángulo"}
# French and Spanish share one sentence pattern: shape words, colour words, (small, big), "on", "background"
ROMANCE = {"fr": (FR_SHAPE, FR_COL, ("petit", "grand"), "sur", "fond"),
           "es": (ES_SHAPE, ES_COL, ("pequeño", "gran"), "sobre", "fondo")}
DE_STEM = {"red": "rot", "green": "grün", "blue": "blau", "yellow": "gelb", "white": "weiß",
           "black": "schwarz", "orange": "orangefarben", "purple": "violett"}
DE_SHAPE = {"circle": ("Kreis", "m"), "square": ("Quadrat", "n"), "triangle": ("Dreieck", "n")}
ZH_COL = {"red": "红色", "green": "绿色", "blue": "蓝色", "yellow": "黄色", "white": "白色",
          "black": "黑色", "orange": "橙色", "purple": "紫色"}
ZH_SHAPE = {"circle": "圆形", "square": "正方形", "triangle": "三角形"}


def _a(word):
    return "an" if word[0] in "aeiou" else "a"


def size_word(frac):
    if frac < 0.45:
        return "small"
    if frac > 0.60:
        return "big"
    return None


def caption(lang, shape, fg, bg, frac, variant):
    """Deterministic caption; `variant` is an int picking the template."""
    sz = size_word(frac)
    if lang == "en":
        t = variant % 4
        a_fg, a_bg = _a(fg), _a(bg)
        if t == 1 and sz:
            return f"a {sz} {fg} {shape} on {a_bg} {bg} background"
        if t == 2:
            return f"{fg} {shape}, {bg} background"
        if t == 3:
            return f"{a_fg} {fg} {shape} on {bg}"
        return f"{a_fg} {fg} {shape} on {a_bg} {bg} background"
    if lang in ROMANCE:
        t = variant % 3
        shapes, colours, (small, big), on, background = ROMANCE[lang]
        s, c, b = shapes[shape], colours[fg], colours[bg]
        if t == 1 and sz:
            adj = small if sz == "small" else big
            return f"un {adj} {s} {c} {on} {background} {b}"
        if t == 2:
            return f"{s} {c}, {background} {b}"
        return f"un {s} {c} {on} {background} {b}"
    if lang == "de":
        t = variant % 3
        noun, g = DE_SHAPE[shape]
        end = "er" if g == "m" else "es"
        art = "ein"
        c = DE_STEM[fg] + end
        b_dat = DE_STEM[bg] + "em"
        if t == 1 and sz:
            adj = ("klein" if sz == "small" else "groß") + end
            return f"{art} {adj} {c} {noun} auf {b_dat} Hintergrund"
        if t == 2:
            return f"{c} {noun}, {DE_STEM[bg]}er Hintergrund"
        return f"{art} {c} {noun} auf {b_dat} Hintergrund"
    if lang == "zh":
        t = variant % 3
        s, c, b = ZH_SHAPE[shape], ZH_COL[fg], ZH_COL[bg]
        if t == 1:
            return f"{b}背景上的一个{c}{s}"
        if t == 2:
            return f"{c}{s}，{b}背景"
        return f"{b}背景上的{c}{s}"
    raise ValueError(lang)


def canonical_caption(lang, s, f, b):
    return caption(lang, SHAPES[s], COLOURS[f], COLOURS[b], 0.5, 0)


def all_caption_strings():
    out = set()
    for lang in LANGS:
        for s, f, b in ALL_COMBOS:
            for frac in (0.4, 0.5, 0.65):
                for v in range(4):
                    out.add(caption(lang, SHAPES[s], COLOURS[f], COLOURS[b], frac, v))
    return sorted(out)

# ---------------------------------------------------------------- rendering


def render(shape, fg, bg, frac, cx, cy):
    """shape idx, fg/bg colour idx, frac = side/diameter as fraction of 64,
    cx, cy = centre in pixels (float)."""
    S = SIZE * SS
    im = Image.new("RGB", (S, S), PALETTE[COLOURS[bg]])
    d = ImageDraw.Draw(im)
    side = frac * SIZE * SS
    x0, y0 = cx * SS - side / 2, cy * SS - side / 2
    x1, y1 = x0 + side, y0 + side
    col = PALETTE[COLOURS[fg]]
    if shape == 0:
        d.ellipse([x0, y0, x1, y1], fill=col)
    elif shape == 1:
        d.rectangle([x0, y0, x1, y1], fill=col)
    else:
        d.polygon([((x0 + x1) / 2, y0), (x1, y1), (x0, y1)], fill=col)
    im = im.resize((SIZE, SIZE), Image.BOX)
    return np.asarray(im, dtype=np.uint8)


def sample_params(rng, n, combos):
    idx = rng.randint(0, len(combos), size=n)
    c = np.array(combos)[idx]
    frac = rng.uniform(MIN_FRAC, MAX_FRAC, size=n)
    half = frac * SIZE / 2
    cx = half + 1 + rng.uniform(0, 1, size=n) * (SIZE - 2 * half - 2)
    cy = half + 1 + rng.uniform(0, 1, size=n) * (SIZE - 2 * half - 2)
    return c[:, 0], c[:, 1], c[:, 2], frac, cx, cy


def build(n=40000, seed=0, path=None):
    import torch
    path = path or os.path.join(RUNS, "dataset.pt")
    if os.path.exists(path):
        return torch.load(path)
    rng = np.random.RandomState(seed)
    s, f, b, frac, cx, cy = sample_params(rng, n, TRAIN_COMBOS)
    imgs = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    for i in range(n):
        imgs[i] = render(s[i], f[i], b[i], frac[i], cx[i], cy[i])
        if i % 5000 == 0:
            print("render", i, flush=True)
    data = {
        "images": torch.from_numpy(imgs).permute(0, 3, 1, 2).contiguous(),  # uint8 N,3,64,64
        "shape": torch.from_numpy(s.astype(np.int64)),
        "fg": torch.from_numpy(f.astype(np.int64)),
        "bg": torch.from_numpy(b.astype(np.int64)),
        "frac": torch.from_numpy(frac.astype(np.float32)),
        "seed": seed,
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(data, path + ".tmp")
    os.replace(path + ".tmp", path)
    return data


def write_heldout():
    os.makedirs(MODEL_DIR, exist_ok=True)
    rows = [{"shape": SHAPES[s], "color": COLOURS[f], "background": COLOURS[b],
             "captions": {l: canonical_caption(l, s, f, b) for l in LANGS}} for s, f, b in HELDOUT]
    with open(os.path.join(MODEL_DIR, "heldout.json"), "w", encoding="utf-8") as fh:
        json.dump({"note": "(shape, colour, background) combinations never seen in training "
                           "(12 of 168); all individual shapes and colours are seen.",
                   "palette": {c: list(PALETTE[c]) for c in COLOURS},
                   "heldout": rows}, fh, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    import time
    t = time.time()
    write_heldout()
    d = build(int(sys.argv[1]) if len(sys.argv) > 1 else 40000)
    print("images", tuple(d["images"].shape), "time %.1fs" % (time.time() - t))
    for l in LANGS:
        print(l, caption(l, "triangle", "white", "orange", 0.4, 1), "|", caption(l, "square", "green", "black", 0.5, 2))
