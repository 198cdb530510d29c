import argparse
import os
import random

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = os.environ.get("LK_RUNS", os.path.join(HERE, ".runs"))


def setup(seed=0):
    # default 2 threads; on a machine shared with other builds, LK_THREADS=1 is faster
    # (2 OpenMP threads competing with other processes for 2 cores stall each other: measured 4.4 s/step vs 0.8)
    torch.set_num_threads(int(os.environ.get("LK_THREADS", "2")))
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def step_gen(seed, step):
    g = torch.Generator()
    g.manual_seed(seed * 1_000_003 + step)
    return g


def save_ckpt(path, obj):
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def psnr(a, b):
    mse = ((a - b) ** 2).mean(dim=(1, 2, 3)).clamp_min(1e-10)
    return (10 * torch.log10(4.0 / mse)).mean().item()  # range [-1,1] -> peak-to-peak 2


class EMA:
    def __init__(self, model, decay=0.999):
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model, step):
        d = min(self.decay, (1 + step) / (10 + step))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)


def diffusion_args(steps, warmup, ema, seed):
    """The options stage 2 (train_unet.py) and stage 3 (train_mling.py) share; each stage adds its own."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=warmup)
    ap.add_argument("--ema", type=float, default=ema)
    ap.add_argument("--gamma", type=float, default=5.0)
    ap.add_argument("--p_uncond", type=float, default=0.1)
    ap.add_argument("--stop_at", type=int, default=None, help="stop (after checkpointing) at this step; schedule still uses --steps")
    ap.add_argument("--seed", type=int, default=seed)
    return ap


def print_progress(step, steps, mean_loss, lr, minutes, seconds_per_step):
    print(f"step {step}/{steps} loss={mean_loss:.4f} lr={lr:.2e} t={minutes:.1f}min ({seconds_per_step:.2f}s/step)",
          flush=True)


def load_latents():
    """(scaling factor, posterior means, posterior log-variances) cached by stage 1 in .runs/latents.pt."""
    lat = torch.load(os.path.join(RUNS, "latents.pt"))
    return lat["scaling_factor"], lat["mean"].float(), lat["logvar"].float()


def min_snr_weights(alphas_cumprod, gamma):
    """min-SNR-gamma loss weights for epsilon prediction, one per timestep."""
    snr = alphas_cumprod / (1 - alphas_cumprod)
    return torch.clamp(snr, max=gamma) / snr


def noised_latents(means, logvars, idx, scale, alphas_cumprod, g, t_min=0):
    """A latent drawn from each sample's cached posterior, a timestep in [t_min, 1000) and noise, drawn from `g` in
    that order (the order fixes every step's batch, so resumed runs reproduce); returns (t, noise, noised latent)."""
    z0 = (means[idx] + torch.exp(0.5 * logvars[idx]) * torch.randn(means[idx].shape, generator=g)) * scale
    t = torch.randint(t_min, 1000, (idx.shape[0],), generator=g)
    noise = torch.randn(z0.shape, generator=g)
    a = alphas_cumprod[t].view(-1, 1, 1, 1)
    return t, noise, a.sqrt() * z0 + (1 - a).sqrt() * noise
