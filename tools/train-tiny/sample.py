"""DDIM (20 steps, SD 1.x 'leading' spacing, eta 0) + classifier-free guidance with the torch models,
plus a deterministic colour/shape analyser and per-language accuracy report.

  /usr/bin/python3 sample.py --grid out.png "a red circle on a blue background" "un carré vert sur fond noir"
  /usr/bin/python3 sample.py --eval [--guidance 5] [--n 2]      # accuracy report (.runs/eval_*.json)
"""
import argparse
import json
import os
import time

import numpy as np
import torch

import dataset
from clip_tokenizer import CLIPTokenizer
from common import RUNS, setup
from mling_tokenizer import MultilingualTokenizer
from nets import CLIPTextTiny, UNetTiny, multilingual_from_state, sd_alphas_cumprod
from vae import VAE

PAL = dataset.PALETTE_ARR


# ------------------------------------------------------------ analyser
def analyse(img):
    """img uint8 [64,64,3] -> (shape, fg colour, bg colour) names (or None)."""
    im = img.astype(np.float32)
    border = np.concatenate([im[:2].reshape(-1, 3), im[-2:].reshape(-1, 3), im[:, :2].reshape(-1, 3), im[:, -2:].reshape(-1, 3)])
    bidx = np.argmin(((border[:, None, :] - PAL[None]) ** 2).sum(-1), axis=1)
    bg = np.bincount(bidx, minlength=8).argmax()
    bgc = border[bidx == bg].mean(0)
    d_bg = np.sqrt(((im - bgc) ** 2).sum(-1))
    rough = d_bg > 60
    if rough.sum() < 20:
        return None, None, dataset.COLOURS[bg]
    fgc = im[rough & (d_bg >= np.percentile(d_bg[rough], 50))].mean(0)
    cand = ((fgc[None] - PAL) ** 2).sum(-1)
    cand[bg] = 1e18
    fg = int(np.argmin(cand))
    d_fg = np.sqrt(((im - fgc) ** 2).sum(-1))
    mask = d_fg < d_bg  # closer to the foreground colour: more than ~half covered
    rows = np.where(mask.sum(1) >= 2)[0]
    cols = np.where(mask.sum(0) >= 2)[0]
    if len(rows) < 3 or len(cols) < 3:
        return None, dataset.COLOURS[fg], dataset.COLOURS[bg]
    r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[-1]
    fill = mask[r0:r1 + 1, c0:c1 + 1].sum() / float((r1 - r0 + 1) * (c1 - c0 + 1))
    shape = "triangle" if fill < 0.64 else ("circle" if fill < 0.89 else "square")
    return shape, dataset.COLOURS[fg], dataset.COLOURS[bg]


# ------------------------------------------------------------ models
class Models:
    def __init__(self, use_mling=True, mling="mling_final.pt", unet="unet_ema.pt"):
        v = torch.load(os.path.join(RUNS, "vae_final.pt"))
        self.vae = VAE(v["cfg"]); self.vae.load_state_dict(v["model"]); self.vae.eval()
        u = torch.load(os.path.join(RUNS, unet))
        self.scale = u["scaling_factor"]
        self.unet = UNetTiny(u["cfg"]); self.unet.load_state_dict(u["unet"]); self.unet.eval()
        self.te = CLIPTextTiny(u["known_ids"]); self.te.load_state_dict(u["te"]); self.te.eval()
        self.unet_step = u["step"]
        self.ctok = CLIPTokenizer()
        self.mtok = MultilingualTokenizer()
        self.ml = None
        mp = os.path.join(RUNS, mling)
        if use_mling and os.path.exists(mp):
            self.ml = multilingual_from_state(torch.load(mp)["model"], len(self.mtok.vocab)).eval()
        self.ac = sd_alphas_cumprod()

    @torch.no_grad()
    def encode(self, prompts, encoder):
        if encoder == "clip":
            return self.te(torch.tensor([self.ctok(p) for p in prompts]))[0]
        ids, mask = zip(*[self.mtok(p) for p in prompts])
        return self.ml(torch.tensor(ids), torch.tensor(mask))

    @torch.no_grad()
    def generate(self, prompts, encoder="clip", guidance=5.0, steps=20, seed=0, batch=32):
        out = []
        for s in range(0, len(prompts), batch):
            ps = prompts[s:s + batch]
            B = len(ps)
            cond = self.encode(ps, encoder)
            unc = self.encode([""], encoder).expand(B, -1, -1)
            ctx = torch.cat([unc, cond])
            g = torch.Generator().manual_seed(seed * 100003 + s)
            x = torch.randn(B, 4, 16, 16, generator=g)
            ratio = 1000 // steps
            ts = (np.arange(0, steps) * ratio)[::-1] + 1  # leading spacing + steps_offset 1
            for t in ts:
                tt = torch.full((2 * B,), float(t))
                e = self.unet(torch.cat([x, x]), tt, ctx)
                eu, ec = e.chunk(2)
                eps = eu + guidance * (ec - eu)
                a = self.ac[t]
                prev = t - ratio
                ap = self.ac[prev] if prev >= 0 else self.ac[0]  # set_alpha_to_one=False
                x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
                x = ap.sqrt() * x0 + (1 - ap).sqrt() * eps
            img = self.vae.decode(x / self.scale).clamp(-1, 1)
            out.append(((img.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().astype(np.uint8))
        return np.concatenate(out)


def save_grid(imgs, path, cols=8):
    from PIL import Image
    n = len(imgs)
    rows = (n + cols - 1) // cols
    g = np.zeros((rows * 66, cols * 66, 3), np.uint8) + 128
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        g[r * 66 + 1:r * 66 + 65, c * 66 + 1:c * 66 + 65] = im
    Image.fromarray(g).resize((cols * 132, rows * 132), Image.NEAREST).save(path)


def eval_sets(n_id=12, seed=7):
    rng = np.random.RandomState(seed)
    ind = [dataset.TRAIN_COMBOS[i] for i in rng.choice(len(dataset.TRAIN_COMBOS), n_id, replace=False)]
    return {"heldout": dataset.HELDOUT, "in_dist": ind}


def evaluate(M, guidance, langs, n_seeds, tag, grid=True, variants=(0,)):
    """Accuracy per (encoder, language, split); with variants other than 0 (the canonical caption), also per
    caption template, e.g. Chinese 0 "蓝色背景上的红色圆形", 1 "蓝色背景上的一个红色圆形", 2 "红色圆形，蓝色背景".
    `swap` counts images whose two colours are exactly exchanged."""
    sets = eval_sets()
    report = {}
    for enc_lang in langs:
        enc, lang = enc_lang.split(":")
        for v in variants:
            for sname, combos in sets.items():
                prompts, truth = [], []
                for k in range(n_seeds):
                    for (s, f, b) in combos:
                        truth.append((dataset.SHAPES[s], dataset.COLOURS[f], dataset.COLOURS[b]))
                        prompts.append(dataset.caption(lang, *truth[-1], 0.5, v))
                imgs = M.generate(prompts, enc, guidance, seed=11)
                res = [analyse(im) for im in imgs]
                fgok = np.mean([r[1] == t[1] for r, t in zip(res, truth)])
                bgok = np.mean([r[2] == t[2] for r, t in zip(res, truth)])
                both = np.mean([r[1] == t[1] and r[2] == t[2] for r, t in zip(res, truth)])
                swap = np.mean([r[1] == t[2] and r[2] == t[1] for r, t in zip(res, truth)])
                shp = np.mean([r[0] == t[0] for r, t in zip(res, truth)])
                key = f"{enc}:{lang}:{sname}" + (f":v{v}" if len(variants) > 1 else "")
                report[key] = dict(n=len(prompts), fg=round(fgok, 3), bg=round(bgok, 3), colours=round(both, 3),
                                   swap=round(swap, 3), shape=round(shp, 3), example=prompts[0])
                print(f"{key:31s} n={len(prompts):3d} fg={fgok:.2f} bg={bgok:.2f} fg+bg={both:.2f} swap={swap:.2f} "
                      f"shape={shp:.2f}  e.g. {prompts[0]}", flush=True)
                if grid:
                    save_grid(imgs[:24], os.path.join(RUNS, f"grid_{tag}_{enc}_{lang}_{sname}_v{v}.png"))
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("prompts", nargs="*")
    ap.add_argument("--encoder", default="clip")
    ap.add_argument("--guidance", type=float, default=5.0)
    ap.add_argument("--grid", default=None)
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--check_analyser", action="store_true")
    ap.add_argument("--langs", default="clip:en")
    ap.add_argument("--n", type=int, default=2)
    ap.add_argument("--tag", default="eval")
    ap.add_argument("--variants", default="0", help="caption templates to evaluate (comma list; 0 = canonical)")
    ap.add_argument("--mling", default="mling_final.pt")
    ap.add_argument("--unet", default="unet_ema.pt")
    ap.add_argument("--fp16_unet", action="store_true", help="round the big UNet weights to fp16 as exported")
    args = ap.parse_args()
    setup(0)
    if args.check_analyser:
        d = dataset.build()
        n = 2000
        ok = [analyse(d["images"][i].permute(1, 2, 0).numpy()) == (dataset.SHAPES[int(d["shape"][i])], dataset.COLOURS[int(d["fg"][i])],
              dataset.COLOURS[int(d["bg"][i])]) for i in range(n)]
        print("analyser accuracy on ground-truth renders: %.4f" % np.mean(ok))
        raise SystemExit
    M = Models(mling=args.mling, unet=args.unet)
    if args.fp16_unet:
        for mod in M.unet.modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)) and mod.weight.numel() >= 4096:
                mod.weight.data = mod.weight.data.half().float()
    if args.eval:
        t = time.time()
        rep = evaluate(M, args.guidance, args.langs.split(","), args.n, args.tag,
                       variants=[int(v) for v in args.variants.split(",")])
        rep["_meta"] = dict(guidance=args.guidance, unet_step=M.unet_step, seconds=round(time.time() - t))
        with open(os.path.join(RUNS, f"{args.tag}_g{args.guidance}.json"), "w") as fh:
            json.dump(rep, fh, indent=1)
    else:
        imgs = M.generate(args.prompts, args.encoder, args.guidance)
        for p, im in zip(args.prompts, imgs):
            print(p, "->", analyse(im))
        if args.grid:
            save_grid(imgs, args.grid)
