#!/usr/bin/env python3
"""diffusers' StableDiffusionPipeline.__call__ (v0.25.1, text-to-image) on a torch checkpoint written
by sd_export.py, saved as a small reference for latentkit's parity tests.

  /usr/bin/python3 tools/sd-export/reference.py --torch <out>.torch --out <fixture>/reference.json \
      --prompt "a red circle" --steps 3 --size 64 --seed 42

The steps are the pipeline's own, in its order (transformers' CLIPTextModel is replaced by
clip_text_model.py, see there): tokenize prompt and "" with padding to 77, encode, concatenate
[negative, prompt]; `scheduler.set_timesteps`; latents = randn(generator) · init_noise_sigma; per
step: scale_model_input on the doubled latents, UNet, uncond + g · (text − uncond),
`scheduler.step`; decode latents / scaling_factor; image = clamp(x / 2 + 0.5, 0, 1) in HWC order.
"""
import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / 'pylib'))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from sd_export import TorchPipeline  # noqa: E402


def rounded(tensor):
    return [round(float(v), 6) for v in tensor.flatten().tolist()]


@torch.no_grad()
def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--torch', required=True, help='the torch checkpoint folder sd_export.py wrote (<out>.torch)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--prompt', default='a red circle on a blue background')
    parser.add_argument('--negative', default='')
    parser.add_argument('--steps', type=int, default=3)
    parser.add_argument('--size', type=int, default=64)
    parser.add_argument('--guidance', type=float, default=7.5)
    parser.add_argument('--seed', type=int, default=42)
    args = parser.parse_args()
    pipe = TorchPipeline.from_pretrained(args.torch)
    length = pipe.text_encoder.config.max_position_embeddings

    def encode(text):
        ids = torch.tensor([pipe.tokenizer.ids(text, length)], dtype=torch.int64)
        return pipe.text_encoder(ids)[0]

    embeds = torch.cat([encode(args.negative), encode(args.prompt)])
    scheduler = pipe.scheduler
    scheduler.set_timesteps(args.steps)
    generator = torch.Generator().manual_seed(args.seed)
    factor = 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    shape = (1, pipe.unet.config.in_channels, args.size // factor, args.size // factor)
    latents = torch.randn(shape, generator=generator, dtype=torch.float32) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(torch.cat([latents] * 2), t)
        noise = pipe.unet(model_input, t, encoder_hidden_states=embeds).sample
        uncond, text = noise.chunk(2)
        noise = uncond + args.guidance * (text - uncond)
        latents = scheduler.step(noise, t, latents).prev_sample
    decoded = pipe.vae.decode(latents / pipe.vae.config.scaling_factor).sample
    image = (decoded / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1)
    reference = {
        'source': 'tools/sd-export/reference.py: diffusers 0.25.1 UNet2DConditionModel, AutoencoderKL and '
                  f'{type(scheduler).__name__} in torch {torch.__version__} (CPU, float32)',
        'prompt': args.prompt, 'negative_prompt': args.negative, 'guidance_scale': args.guidance,
        'num_inference_steps': args.steps, 'height': args.size, 'width': args.size, 'seed': args.seed,
        'timesteps': [int(t) for t in scheduler.timesteps],
        'prompt_embeds': rounded(embeds),
        'final_latents': rounded(latents),
        'image': rounded(image),
    }
    Path(args.out).write_text(json.dumps(reference) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
