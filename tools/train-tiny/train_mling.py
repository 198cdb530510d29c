"""Stage 3: train the multilingual text encoder through the frozen UNet + VAE latents
(diffusion loss only, Taiyi-style). Captions in en/fr/es/de/zh, 10% empty.

  nohup /usr/bin/python3 train_mling.py --steps 700 > .runs/mling.log 2>&1 &
"""
import math
import os
import time

import torch

import dataset
from common import RUNS, EMA, diffusion_args, load_latents, min_snr_weights, noised_latents, print_progress, setup, step_gen, save_ckpt
from mling_tokenizer import MultilingualTokenizer
from nets import MultilingualTiny, UNetTiny, sd_alphas_cumprod

ap = diffusion_args(steps=700, warmup=50, ema=0.995, seed=2)
ap.add_argument("--unet", default="unet_ema.pt", help="frozen UNet snapshot in .runs/")
ap.add_argument("--init", default=None, help="start from this encoder (.runs/ file) instead of random init")
ap.add_argument("--lang_weights", default=None, help="comma list of sampling weights for en,fr,es,de,zh (default uniform)")
ap.add_argument("--local", type=int, default=0, help="add a zero-initialised n-gram convolution of this width (odd) before the transformer")
ap.add_argument("--t_min", type=int, default=0, help="draw training timesteps from [t_min, 1000): the noisy end is where the prompt decides colours and layout")
ap.add_argument("--uniform_variants", action="store_true", help="draw each language's caption templates uniformly (default: variant = randint(0, 4) mod the template count)")
ap.add_argument("--tag", default="mling", help="checkpoint name: .runs/<tag>.ckpt and .runs/<tag>_final.pt")
args = ap.parse_args()


def main():
    setup(args.seed)
    data = dataset.build()
    scale, means, logvars = load_latents()
    N = means.shape[0] - 256
    u = torch.load(os.path.join(RUNS, args.unet))
    unet = UNetTiny(u["cfg"]); unet.load_state_dict(u["unet"]); unet.eval()
    for p in unet.parameters():
        p.requires_grad_(False)
    tok = MultilingualTokenizer()
    model = MultilingualTiny(len(tok.vocab), local=args.local)
    if args.init:
        init = torch.load(os.path.join(RUNS, args.init))["model"]
        extra = set(model.state_dict()) - set(init)  # a new zero-initialised `local` layer keeps the same function
        if extra - {"local.weight", "local.bias"} or set(init) - set(model.state_dict()):
            raise SystemExit(f"--init {args.init} does not fit this encoder: missing {sorted(extra)}, "
                             f"unexpected {sorted(set(init) - set(model.state_dict()))}")
        model.load_state_dict(init, strict=False)
        print("initialised from", args.init, "(new: %s)" % (sorted(extra) or "nothing"), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    ema = EMA(model, args.ema)
    ac = sd_alphas_cumprod()
    wts = min_snr_weights(ac, args.gamma)
    cache = {}

    def enc(text):
        if text not in cache:
            cache[text] = tok(text)
        return cache[text]

    ck = os.path.join(RUNS, args.tag + ".ckpt")
    step, elapsed = 0, 0.0
    if os.path.exists(ck):
        st = torch.load(ck)
        model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"]); ema.shadow = st["ema"]
        step, elapsed = st["step"], st["elapsed"]
        print(f"resumed at step {step}", flush=True)
    start = step
    print("multilingual encoder params %.3fM vocab %d (UNet step %s)" % (
        sum(p.numel() for p in model.parameters()) / 1e6, len(tok.vocab), u["step"]), flush=True)

    def lr_at(s):
        if s < args.warmup:
            return args.lr * (s + 1) / args.warmup
        p = (s - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    t0 = time.time()
    acc, nacc, per = 0.0, 0, {}
    end = min(args.steps, args.stop_at or args.steps)
    while step < end:
        g = step_gen(args.seed, step)
        idx = torch.randint(0, N, (args.batch,), generator=g)
        var = torch.randint(0, 4, (args.batch,), generator=g)
        if args.uniform_variants:  # (the draw above stays, so the shipped stage's batches reproduce)
            var = torch.randint(0, 12, (args.batch,), generator=g)  # 12 = lcm of the template counts (4, 3)
        if args.lang_weights:
            lw = torch.tensor([float(x) for x in args.lang_weights.split(",")])
            lang = torch.multinomial(lw, args.batch, replacement=True, generator=g)
        else:
            lang = torch.randint(0, len(dataset.LANGS), (args.batch,), generator=g)
        drop = torch.rand(args.batch, generator=g) < args.p_uncond
        caps = ["" if drop[j] else dataset.caption(
            dataset.LANGS[int(lang[j])], dataset.SHAPES[int(data["shape"][i])], dataset.COLOURS[int(data["fg"][i])],
            dataset.COLOURS[int(data["bg"][i])], float(data["frac"][i]), int(var[j])) for j, i in enumerate(idx.tolist())]
        ids, mask = zip(*[enc(c) for c in caps])
        ids, mask = torch.tensor(ids), torch.tensor(mask)
        t, noise, zt = noised_latents(means, logvars, idx, scale, ac, g, t_min=args.t_min)
        for pg in opt.param_groups:
            pg["lr"] = lr_at(step)
        pred = unet(zt, t.float(), model(ids, mask))
        loss = (((pred - noise) ** 2).mean(dim=(1, 2, 3)) * wts[t]).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema.update(model, step)
        step += 1
        acc += loss.item(); nacc += 1
        if step % 25 == 0 or step == args.steps:
            print_progress(step, args.steps, acc / nacc, lr_at(step), (elapsed + time.time() - t0) / 60,
                           (time.time() - t0) / (step - start))
            acc, nacc = 0.0, 0
        if step % 100 == 0 or step == end:
            el = elapsed + time.time() - t0
            save_ckpt(ck, {"model": model.state_dict(), "opt": opt.state_dict(), "ema": ema.shadow, "step": step, "elapsed": el})
            save_ckpt(os.path.join(RUNS, args.tag + "_final.pt"), {"model": ema.shadow, "step": step, "train_minutes": el / 60,
                                                                 "unet_step": u["step"], "init": args.init})
    print("done", flush=True)


if __name__ == "__main__":
    main()
