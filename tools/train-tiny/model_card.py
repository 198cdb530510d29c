"""Writes packages/model-tiny/MODEL_CARD.md from the checkpoints' metadata and the eval report.

  /usr/bin/python3 model_card.py --guidance 5 --eval .runs/final_g5.0.json [--extra .runs/gscan.txt]
"""
import argparse
import json
import os

import torch

import dataset
from common import RUNS, HERE

ap = argparse.ArgumentParser()
ap.add_argument("--guidance", type=float, required=True)
ap.add_argument("--eval", required=True)
ap.add_argument("--gscan", default=None, help="json: {guidance: {key: metrics}} for English CLIP")
ap.add_argument("--notes", default="")
args = ap.parse_args()

MODEL = os.path.abspath(os.path.join(HERE, "..", "..", "packages", "model-tiny", "model"))
v = torch.load(os.path.join(RUNS, "vae_final.pt"))
u = torch.load(os.path.join(RUNS, "unet_ema.pt"))
m = torch.load(os.path.join(RUNS, "mling_final.pt"))
ev = json.load(open(args.eval))


def size(rel):
    return os.path.getsize(os.path.join(MODEL, rel))


total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(MODEL) for f in fs)
rows = []
for key, r in ev.items():
    if key.startswith("_"):
        continue
    enc, lang, split = key.split(":")[:3]
    rows.append(f"| {'text_encoder (CLIP)' if enc == 'clip' else 'text_encoder_multilingual'} | {lang} | {split} | {r['n']} | "
                f"{r['fg']:.0%} | {r['bg']:.0%} | **{r['colours']:.0%}** | {r['shape']:.0%} |")
gs = ""
if args.gscan:
    g = json.load(open(args.gscan))
    gs = "\nGuidance scan (English, CLIP encoder, held-out + in-distribution pooled, fg+bg colours / shape):\n\n"
    gs += "| guidance | colours right | shape right |\n| --- | --- | --- |\n"
    for k, r in sorted(g.items(), key=lambda x: float(x[0])):
        gs += f"| {k} | {r['colours']:.0%} | {r['shape']:.0%} |\n"
held = ", ".join(f"{h[1]} {h[0]} on {h[2]}" for h in
                 [(dataset.SHAPES[s], dataset.COLOURS[f], dataset.COLOURS[b]) for s, f, b in dataset.HELDOUT])

card = f"""# latentkit-tiny — model card

A small Stable-Diffusion-1.x-shaped latent diffusion model, trained from scratch on CPU by the latentkit project on
procedural images: one shape (circle, square, triangle) in one of eight colours on a background of another colour,
64×64 pixels, 4×16×16 latents. Prompts in English (CLIP tokenizer + `text_encoder`) or in English, French, Spanish,
German and Chinese (`tokenizer_multilingual` + `text_encoder_multilingual`). Layout: diffusers ONNX
(`OnnxStableDiffusionPipeline`), `model/model_index.json`. Training code: `tools/train-tiny/` in the repository.

**Recommended sampler: DDIM, 20 steps, classifier-free guidance scale {args.guidance:g}**, unconditional embedding =
the same encoder applied to the empty prompt "" (CLIP: `<|startoftext|>`, `<|endoftext|>`, padded with
`<|endoftext|>`; multilingual: `[CLS] [SEP]`, padded with `[PAD]`).

## Parts

| part | architecture | parameters | file (fp) |
| --- | --- | --- | --- |
| `text_encoder` | CLIP-like pre-LN causal transformer, D=128, 3 layers, 4 heads, MLP 512 (GELU), learned positions (77); CLIP ids remapped in-graph by an int64 lookup table (Gather) to {len(u['known_ids'])} known ids + 1 shared unknown row | {sum(p.numel() for k, p in u['te'].items() if k not in ('lut', 'causal')):,} | {size('text_encoder/model.onnx') / 1e6:.1f} MB (fp32) |
| `unet` | UNet2DCondition-shaped: channels 64/128/128, 1 ResNet per down level (2 per up level), GroupNorm(32)+SiLU, sinusoidal time embedding (flip_sin_to_cos, 256-d MLP), transformer blocks (self-attn, cross-attn to the 77×128 text states, GEGLU FF) at 8×8 and 4×4 and in the mid block, 4 heads | {sum(p.numel() for p in u['unet'].values()):,} | {size('unet/model.onnx') / 1e6:.1f} MB (weights fp16, Cast to fp32 in the graph) |
| `vae_encoder` + `vae_decoder` | KL autoencoder, channels 32/64/128, 1 ResNet per encoder level, 2 per decoder level, GroupNorm(16)+SiLU, no attention; 64×64×3 → 8×16×16 (mean, log-variance) → 4×16×16 | {sum(p.numel() for k, p in v['model'].items() if k.startswith('encoder')):,} + {sum(p.numel() for k, p in v['model'].items() if k.startswith('decoder')):,} | {size('vae_encoder/model.onnx') / 1e6:.1f} + {size('vae_decoder/model.onnx') / 1e6:.1f} MB (fp32) |
| `text_encoder_multilingual` | BERT-like pre-LN bidirectional transformer, D=128, 3 layers, 4 heads, MLP 512, attention mask, word-level vocabulary of {m['model']['tok.weight'].shape[0]} tokens | {sum(p.numel() for p in m['model'].values()):,} | {size('text_encoder_multilingual/model.onnx') / 1e6:.1f} MB (fp32) |
| `scheduler` | DDIMScheduler, SD 1.x: scaled_linear 0.00085–0.012, 1000 steps, epsilon, leading spacing, steps_offset 1 | – | – |

VAE `scaling_factor` = {v['scaling_factor']:.5f} (1 / std of the training latents, as SD computed it). The VAE decoder
output is clamped to [-1, 1]. Total size of `model/`: {total / 1e6:.1f} MB.

## Data

Procedural (tools/train-tiny/dataset.py): 50 000 cached 64×64 renders (4× supersampled, box-filtered), shape
side/diameter 34–70 % of the image, random position fully inside. Palette: {", ".join(f"{c} {tuple(dataset.PALETTE[c])}" for c in dataset.COLOURS)}.
Captions with variations ("a red circle on a blue background", "a small red circle on a blue background", "red circle,
blue background", "a red circle on blue"), and the same in French ("un cercle rouge sur fond bleu"), Spanish ("un
círculo rojo sobre fondo azul"), German ("ein roter Kreis auf blauem Hintergrund", "ein grünes Quadrat auf schwarzem
Hintergrund") and Chinese ("蓝色背景上的红色圆形"). No horizontal flips.

Held out from all training (12 of the 168 shape/colour/background combinations; `model/heldout.json`): {held}.

## Training (2 shared CPU cores, torch 1.13, all seeded)

- VAE: L1 + MSE + Sobel-edge L1 + 1e-5·KL, AdamW lr 1e-3 cosine, batch 24, {v['steps']} steps, {v['train_minutes']:.0f} min; held-out PSNR {v['val_psnr']:.1f} dB.
- UNet + CLIP-like text encoder jointly on frozen-VAE latents (sampled with the encoder's log-variance, × scaling factor):
  ε-prediction, SD 1.x schedule, min-SNR-γ=5 weighting, 10 % empty captions, AdamW lr 1e-3 (warm-up, constant,
  cosine tail), batch 16, EMA 0.999 (exported), {u['step']} steps, {u['train_minutes']:.0f} min; English captions only.
- Multilingual encoder: through the frozen UNet, diffusion loss only (Taiyi-style), captions in all five languages
  (English included) uniformly, 10 % empty captions, AdamW lr 1e-3, EMA; {m['step']} steps, {m['train_minutes']:.0f} min.

## Measured quality

Torch models, DDIM 20 steps, guidance {args.guidance:g}, canonical prompt per combination ("a red circle on a blue
background", "un cercle rouge sur fond bleu", …), seeds fixed; judged by a deterministic analyser (background = mode
of border pixels, foreground = pixels far from it → nearest palette colour; shape from the fill ratio of the
foreground's bounding box; 100 % correct on ground-truth renders). In-distribution = 12 training combinations.

| encoder | language | split | images | fg colour | bg colour | fg+bg colour | shape |
| --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(rows)}
{gs}
{args.notes}

## Licence and attribution

MIT (the latentkit project). `tokenizer/vocab.json` and `tokenizer/merges.txt` are derived from OpenAI CLIP's
`bpe_simple_vocab_16e6.txt.gz` (https://github.com/openai/CLIP), MIT licence, Copyright (c) 2021 OpenAI.
"""
out = os.path.abspath(os.path.join(HERE, "..", "..", "packages", "model-tiny", "MODEL_CARD.md"))
open(out, "w", encoding="utf-8").write(card)
print("wrote", out)
