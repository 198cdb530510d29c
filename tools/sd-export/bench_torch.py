#!/usr/bin/env python3
"""diffusers + torch (CPU, float32) on a torch checkpoint sd_export.py wrote: load time, seconds per
guided step (UNet at batch 2 + scheduler), peak RSS. Prints one JSON line in the shape of
packages/pipeline/bench/real-model.bench.ts's reports (it runs this with --torch).

  /usr/bin/python3 tools/sd-export/bench_torch.py --torch /work/models/sd15-random.torch --steps 2 --size 512
"""
import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / 'pylib'))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from sd_export import TorchPipeline  # noqa: E402


def rss_gb():
    with open('/proc/self/status') as handle:
        for line in handle:
            if line.startswith('VmRSS:'):
                return round(int(line.split()[1]) / 2 ** 20, 2)
    return 0.0


@torch.no_grad()
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--torch', required=True)
    parser.add_argument('--steps', type=int, default=2)
    parser.add_argument('--size', type=int, default=512)
    # Debian's torch starts with one OpenMP thread here whatever the cores; latentkit's runs use
    # every core the process may use, so the comparison gives torch the same.
    parser.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    pipe = TorchPipeline.from_pretrained(args.torch)
    load = time.perf_counter() - start
    loaded = rss_gb()
    length = pipe.text_encoder.config.max_position_embeddings
    ids = torch.tensor([pipe.tokenizer.ids('', length), pipe.tokenizer.ids('a photograph of an astronaut riding a horse', length)])
    embeds = pipe.text_encoder(ids)[0]
    scheduler = pipe.scheduler
    scheduler.set_timesteps(args.steps)
    latents = torch.randn((1, 4, args.size // 8, args.size // 8), generator=torch.Generator().manual_seed(1)) * scheduler.init_noise_sigma
    step_times = []
    for t in scheduler.timesteps:
        begin = time.perf_counter()
        noise = pipe.unet(scheduler.scale_model_input(torch.cat([latents] * 2), t), t, encoder_hidden_states=embeds).sample
        uncond, text = noise.chunk(2)
        latents = scheduler.step(uncond + 7.5 * (text - uncond), t, latents).prev_sample
        step_times.append(time.perf_counter() - begin)
    pipe.vae.decode(latents / pipe.vae.config.scaling_factor)
    print(json.dumps({
        'scenario': 'torch', 'loadSeconds': round(load, 2), 'stepSeconds': round(sum(step_times) / len(step_times), 2),
        'totalSeconds': round(time.perf_counter() - start, 2), 'peakRssGb': round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2),
        'loadedRssGb': loaded, 'detail': {'torch': torch.__version__, 'threads': torch.get_num_threads()},
    }))


if __name__ == '__main__':
    main()
