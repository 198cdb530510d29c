"""Stage 1: train the KL autoencoder, then precompute latents.

  nohup /usr/bin/python3 train_vae.py > .runs/vae.log 2>&1 &
Resumes from .runs/vae.ckpt. Writes .runs/vae_final.pt and .runs/latents.pt.
"""
import argparse
import math
import os
import time

import torch
import torch.nn.functional as F

import dataset
from common import RUNS, setup, step_gen, save_ckpt, psnr
from vae import VAE, VAE_CFG, sobel

ap = argparse.ArgumentParser()
ap.add_argument("--steps", type=int, default=1800)
ap.add_argument("--batch", type=int, default=24)
ap.add_argument("--lr", type=float, default=1e-3)
ap.add_argument("--kl", type=float, default=1e-5)
ap.add_argument("--edge", type=float, default=1.0)
ap.add_argument("--seed", type=int, default=0)
args = ap.parse_args()

setup(args.seed)
data = dataset.build()
imgs = data["images"]
N = imgs.shape[0]
NVAL = 256
val = imgs[N - NVAL:].float() / 127.5 - 1
ntrain = N - NVAL

model = VAE(VAE_CFG)
opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0, betas=(0.9, 0.99))
ck = os.path.join(RUNS, "vae.ckpt")
step = 0
elapsed = 0.0
if os.path.exists(ck):
    st = torch.load(ck)
    model.load_state_dict(st["model"]); opt.load_state_dict(st["opt"]); step = st["step"]; elapsed = st["elapsed"]
    print(f"resumed at step {step}", flush=True)
print("params %.3fM" % (sum(p.numel() for p in model.parameters()) / 1e6), flush=True)


def lr_at(s):
    warm = 100
    if s < warm:
        return args.lr * (s + 1) / warm
    p = (s - warm) / max(1, args.steps - warm)
    return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))


t0 = time.time()
acc = {}
while step < args.steps:
    g = step_gen(args.seed, step)
    idx = torch.randint(0, ntrain, (args.batch,), generator=g)
    x = imgs[idx].float() / 127.5 - 1
    for pg in opt.param_groups:
        pg["lr"] = lr_at(step)
    mean, logvar = model.encode(x)
    z = mean + torch.exp(0.5 * logvar) * torch.randn(mean.shape, generator=g)
    y = model.decode(z)
    l1 = (y - x).abs().mean()
    l2 = F.mse_loss(y, x)
    gx, gy = sobel(y)
    tx, ty = sobel(x)
    le = (gx - tx).abs().mean() + (gy - ty).abs().mean()
    kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).mean()
    loss = l1 + l2 + args.edge * le + args.kl * kl
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    step += 1
    for k, v in (("loss", loss), ("l1", l1), ("mse", l2), ("edge", le), ("kl", kl)):
        acc[k] = acc.get(k, 0.0) + v.item()
    if step % 50 == 0 or step == args.steps:
        el = elapsed + time.time() - t0
        msg = " ".join(f"{k}={v / 50:.4f}" for k, v in acc.items())
        acc = {}
        line = f"step {step}/{args.steps} {msg} lr={lr_at(step):.2e} t={el / 60:.1f}min"
        if step % 200 == 0 or step == args.steps:
            with torch.no_grad():
                m, _ = model.encode(val[:128])
                line += f" val_psnr={psnr(model.decode(m), val[:128]):.2f}dB"
            save_ckpt(ck, {"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": el})
        print(line, flush=True)

elapsed = elapsed + time.time() - t0
model.eval()
with torch.no_grad():
    m, _ = model.encode(val)
    rec = model.decode(m)
    vp = psnr(rec, val)
    # corner-sensitive metric: PSNR of the edge map
    print(f"final val_psnr={vp:.2f}dB (train time {elapsed / 60:.1f} min)", flush=True)
    means, logvars = [], []
    t1 = time.time()
    for i in range(0, N, 256):
        mu, lv = model.encode(imgs[i:i + 256].float() / 127.5 - 1)
        means.append(mu); logvars.append(lv)
    means = torch.cat(means); logvars = torch.cat(logvars)
    # SD-style scaling factor: 1/std of (sampled) latents
    zs = means + torch.exp(0.5 * logvars) * torch.randn(means.shape, generator=step_gen(args.seed, 10**7))
    scale = 1.0 / zs.flatten().std().item()
    print(f"latents {tuple(means.shape)} mean={means.mean():.3f} std={zs.std():.3f} scaling_factor={scale:.5f} "
          f"logvar_mean={logvars.mean():.2f} encode {time.time() - t1:.0f}s", flush=True)
save_ckpt(os.path.join(RUNS, "vae_final.pt"), {"model": model.state_dict(), "cfg": VAE_CFG, "scaling_factor": scale,
                                               "val_psnr": vp, "train_minutes": elapsed / 60, "steps": step})
save_ckpt(os.path.join(RUNS, "latents.pt"), {"mean": means.half(), "logvar": logvars.half(), "scaling_factor": scale})
from PIL import Image
import numpy as np
grid = torch.cat([torch.cat(list(val[:8]), 2), torch.cat(list(rec[:8].clamp(-1, 1)), 2)], 1)
Image.fromarray(((grid.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)).save(os.path.join(RUNS, "vae_recon.png"))
print("done", flush=True)
