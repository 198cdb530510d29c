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
