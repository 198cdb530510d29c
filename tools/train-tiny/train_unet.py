"""Stage 2: train the UNet jointly with the CLIP-like text encoder on frozen-VAE latents.

  nohup /usr/bin/python3 train_unet.py --steps 3000 > .runs/unet.log 2>&1 &
Resumes from .runs/unet.ckpt (the LR schedule depends on --steps; keep it fixed when resuming).
"""
import math
import os
import time

import torch

import dataset
from clip_tokenizer import CLIPTokenizer
from common import RUNS, EMA, diffusion_args, load_latents, min_snr_weights, noised_latents, print_progress, setup, step_gen, save_ckpt
from nets import CLIPTextTiny, UNetTiny, UNET_CFG, sd_alphas_cumprod

ap = diffusion_args(steps=3000, warmup=150, ema=0.999, seed=1)
ap.add_argument("--ckpt_every", type=int, default=100)
ap.add_argument("--text_time", action="store_true", help="add the pooled-text pathway to the time embedding")
ap.add_argument("--init_from", default=None, help="phase 2: start weights+EMA from this .runs/ checkpoint (fresh optimiser)")
ap.add_argument("--tag", default="unet", help="checkpoint .runs/<tag>.ckpt")
args = ap.parse_args()


def english_vocab_ids(tok):
    ids = {49406, 49407}
    for cap in dataset.all_caption_strings():
        if cap.isascii():
            ids.update(tok.encode(cap))
    return sorted(ids)


class CaptionSampler:
    """Deterministic caption ids for (sample index, variant) in English via CLIP BPE."""

    def __init__(self, data, tok):
        self.tok = tok
        self.cache = {}
        self.s, self.f, self.b, self.frac = data["shape"], data["fg"], data["bg"], data["frac"]

    def ids(self, i, variant):
        cap = dataset.caption("en", dataset.SHAPES[int(self.s[i])], dataset.COLOURS[int(self.f[i])],
                              dataset.COLOURS[int(self.b[i])], float(self.frac[i]), variant)
        if cap not in self.cache:
            self.cache[cap] = self.tok(cap)
        return self.cache[cap]


def main():
    setup(args.seed)
    data = dataset.build()
    scale, means, logvars = load_latents()
    N = means.shape[0] - 256
    tok = CLIPTokenizer()
    known = english_vocab_ids(tok)
    sampler = CaptionSampler(data, tok)
    empty = torch.tensor(tok(""), dtype=torch.long)

    cfg = dict(UNET_CFG, text_time=bool(args.text_time))
    unet = UNetTiny(cfg)
    te = CLIPTextTiny(known)
    params = list(unet.parameters()) + list(te.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema_u, ema_t = EMA(unet, args.ema), EMA(te, args.ema)
    ac = sd_alphas_cumprod()
    wts = min_snr_weights(ac, args.gamma)

    ck = os.path.join(RUNS, args.tag + ".ckpt")
    step, elapsed = 0, 0.0
    prev_minutes, prev_steps = 0.0, 0
    if args.init_from:
        st = torch.load(os.path.join(RUNS, args.init_from))
        missing = unet.load_state_dict(st["unet"], strict=False); te.load_state_dict(st["te"])
        print("phase 2 from", args.init_from, "step", st["step"], "new params:", missing.missing_keys, flush=True)
        ema_u = EMA(unet, args.ema); ema_u.shadow.update(st["ema_u"]); ema_t.shadow = st["ema_t"]
        prev_minutes, prev_steps = st["elapsed"] / 60, st["step"]
    if os.path.exists(ck):
        st = torch.load(ck)
        unet.load_state_dict(st["unet"]); te.load_state_dict(st["te"]); opt.load_state_dict(st["opt"])
        ema_u.shadow, ema_t.shadow = st["ema_u"], st["ema_t"]
        step, elapsed = st["step"], st["elapsed"]
        print(f"resumed at step {step}", flush=True)
    print("unet params %.3fM text params %.3fM known ids %d scale %.4f" % (
        sum(p.numel() for p in unet.parameters()) / 1e6, sum(p.numel() for p in te.parameters()) / 1e6,
        len(known), scale), flush=True)

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        p = (s - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (1.0 if p < 0.6 else 0.15 + 0.85 * 0.5 * (1 + math.cos(math.pi * (p - 0.6) / 0.4)))

    t0 = time.time()
    acc, nacc = 0.0, 0
    end = min(args.steps, args.stop_at or args.steps)
    while step < end:
        g = step_gen(args.seed, step)
        idx = torch.randint(0, N, (args.batch,), generator=g)
        var = torch.randint(0, 4, (args.batch,), generator=g)
        drop = torch.rand(args.batch, generator=g) < args.p_uncond
        ids = torch.stack([empty if drop[j] else torch.tensor(sampler.ids(int(idx[j]), int(var[j])))
                           for j in range(args.batch)])
        t, noise, zt = noised_latents(means, logvars, idx, scale, ac, g)
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        ctx, _ = te(ids)
        pred = unet(zt, t.float(), ctx)
        loss = (((pred - noise) ** 2).mean(dim=(1, 2, 3)) * wts[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_u.update(unet, step); ema_t.update(te, step)
        step += 1
        acc += loss.item(); nacc += 1
        if step % 25 == 0 or step == args.steps:
            print_progress(step, args.steps, acc / nacc, lr_at(step), (elapsed + time.time() - t0) / 60,
                           (time.time() - t0) / max(1, step - start))
            acc, nacc = 0.0, 0
        if step % args.ckpt_every == 0 or step == end:
            el = elapsed + time.time() - t0
            save_ckpt(ck, {"unet": unet.state_dict(), "te": te.state_dict(), "opt": opt.state_dict(),
                           "ema_u": ema_u.shadow, "ema_t": ema_t.shadow, "step": step, "elapsed": el})
            save_ckpt(os.path.join(RUNS, "unet_ema.pt"), {"unet": ema_u.shadow, "te": ema_t.shadow, "known_ids": known,
                                                         "cfg": cfg, "scaling_factor": scale, "step": step + prev_steps,
                                                         "train_minutes": el / 60 + prev_minutes,
                                                         "phases": [prev_steps, step]})
    print("done", flush=True)


start = 0
if __name__ == "__main__":
    if os.path.exists(os.path.join(RUNS, args.tag + ".ckpt")):
        start = torch.load(os.path.join(RUNS, args.tag + ".ckpt"))["step"]
    main()
