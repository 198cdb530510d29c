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

Tensors are stored exactly as torch computed them: `{"shape": [...], "float32_base64": "..."}`, the
little-endian float32 bytes in base64 (5.3 characters a value, lossless; decimal text would need 9
significant digits for the same, or would add its rounding to what the tests' tolerances measure).
"""
import argparse
import base64
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / 'pylib'))
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from sd_export import TorchPipeline  # noqa: E402

_baddbmm = torch.baddbmm


def _baddbmm_beta_zero_ignores_input(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """torch.baddbmm as documented: with beta = 0 the input is ignored, NaN and inf in it included.

    diffusers 0.25.1's `Attention.get_attention_scores` (the attention on torch < 2, which has no
    scaled_dot_product_attention) calls baddbmm with beta = 0 on an uninitialised `torch.empty`.
    Debian's torch 1.13 on CPU then sometimes lets NaN from uninitialised memory through — from that
    input and, even with a zero input, from its own result buffer — seen on the tiny presets' 4-token
    self-attention in about one run in three or four (the whole image NaN). Zeros with beta = 1 give
    alpha · (batch1 @ batch2) + 0, the same floats as a correct beta = 0 (checked: the references
    are bit-identical to the runs the bug spared).
    """
    if beta == 0:
        input, beta = torch.zeros_like(input), 1
    return _baddbmm(input, batch1, batch2, beta=beta, alpha=alpha, out=out)


torch.baddbmm = _baddbmm_beta_zero_ignores_input


def packed(tensor):
    """A float32 tensor, exactly: its shape and its little-endian bytes in base64."""
    array = tensor.detach().to(torch.float32).contiguous().numpy().astype('<f4')
    return {'shape': list(array.shape), 'float32_base64': base64.b64encode(array.tobytes()).decode('ascii')}


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
    for name, tensor in (('prompt_embeds', embeds), ('final_latents', latents), ('image', image)):
        if not torch.isfinite(tensor).all():
            raise SystemExit(f'{name} holds NaN or inf: not a reference')
    reference = {
        'source': 'tools/sd-export/reference.py: diffusers 0.25.1 UNet2DConditionModel, AutoencoderKL and '
                  f'{type(scheduler).__name__} in torch {torch.__version__} (CPU, float32)',
        'prompt': args.prompt, 'negative_prompt': args.negative, 'guidance_scale': args.guidance,
        'num_inference_steps': args.steps, 'height': args.size, 'width': args.size, 'seed': args.seed,
        'timesteps': [int(t) for t in scheduler.timesteps],
        'prompt_embeds': packed(embeds),
        'final_latents': packed(latents),
        'image': packed(image),
    }
    Path(args.out).write_text(json.dumps(reference) + '\n')
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
