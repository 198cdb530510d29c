#!/usr/bin/env python3
"""Builds Stable Diffusion ONNX exports with seeded random weights, in the layouts people download.

  /usr/bin/python3 tools/sd-export/sd_export.py --preset sd15 --layout diffusers --out /work/models/sd15-random

Presets: sd15 (the SD 1.5 architecture: UNet 320/640/1280/1280 with cross-attention 768, CLIP
ViT-L/14 text encoder, the SD VAE, PNDM), sd21 (SD 2.1: 1024-wide 23-layer OpenCLIP-H text encoder —
the penultimate layer of the 24, as diffusers ships it — linear-projection UNet with 64-wide heads,
v-prediction DDIM, 768×768), and sd15-tiny / sd21-tiny (the same block structure with a few channels,
for CI fixtures; see README.md).

Layouts:
  diffusers  diffusers' own scripts/convert_stable_diffusion_checkpoint_to_onnx.py (v0.25.1): model.onnx
             per part, the UNet's weights in weights.pb, no config.json in the ONNX folders, int32
             input_ids, float32 [batch] timestep, `latent_sample` from the VAE encoder, dynamic channels.
  optimum    optimum's ONNX exporter conventions (v1.27, read from its model_configs.py / convert.py):
             config.json per part, int64 input_ids, scalar float32 timestep, fixed channels,
             `latent_parameters` from the VAE encoder, external data in model.onnx_data.

Beside the ONNX folder the tool saves the torch checkpoint it exported (`<out>.torch/`, diffusers'
from_pretrained layout with .bin weights), which tools/sd-export/reference.py and bench_torch.py load.

Needs: Debian's python3-torch (1.13) and python3-onnx, and the sources of diffusers v0.25.1 and
huggingface_hub v0.20.3 on PYTHONPATH (see README.md).
"""
import argparse
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / 'pylib'))  # pure-Python safetensors (diffusers imports it)
sys.path.insert(0, str(HERE))

import torch  # noqa: E402

from clip_text_model import CLIPTextConfig, CLIPTextModel  # noqa: E402
from tokenizer_files import ClipBpeTokenizer  # noqa: E402

SD_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    down_block_types=['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    up_block_types=['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
)
SD_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2,
    down_block_types=['DownEncoderBlock2D'] * 4, up_block_types=['UpDecoderBlock2D'] * 4, scaling_factor=0.18215,
)
SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear', num_train_timesteps=1000,
                 set_alpha_to_one=False, steps_offset=1)

PRESETS = {
    'sd15': dict(
        text=dict(),
        unet=dict(SD_UNET, block_out_channels=[320, 640, 1280, 1280], cross_attention_dim=768, attention_head_dim=8),
        vae=dict(SD_VAE, block_out_channels=[128, 256, 512, 512], sample_size=512),
        scheduler=('PNDMScheduler', dict(SCHEDULER, skip_prk_steps=True, prediction_type='epsilon')),
        merges=None,
    ),
    'sd21': dict(
        text=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23, num_attention_heads=16, hidden_act='gelu', projection_dim=512),
        unet=dict(SD_UNET, sample_size=96, block_out_channels=[320, 640, 1280, 1280], cross_attention_dim=1024,
                  attention_head_dim=[5, 10, 20, 20], use_linear_projection=True),
        vae=dict(SD_VAE, block_out_channels=[128, 256, 512, 512], sample_size=768),
        scheduler=('DDIMScheduler', dict(SCHEDULER, clip_sample=False, prediction_type='v_prediction')),
        merges=None, pad_token='!',
    ),
    # Scaled down for CI: the same blocks, layers per block, attention layout (16 transformer blocks,
    # so 32 attention layers, in the UNet), schedulers and I/O with few channels — UNet and VAE
    # 4/8/16/16 (1/80 and 1/32 of SD's), group norm over 2 groups (2 channels per group at the first
    # block); text states 1/32 as wide as SD's (24 for 768, 32 for 1024) with CLIP's 8-wide heads
    # scaled to 3 resp. 4 heads of 8, 4 layers for 12 resp. 3 for 23 — and a tokenizer with the first
    # 2000 of CLIP's merges (so the embedding has 2514 rows, not 49408).
    'sd15-tiny': dict(
        text=dict(hidden_size=24, intermediate_size=96, num_hidden_layers=4, num_attention_heads=3, projection_dim=24),
        unet=dict(SD_UNET, block_out_channels=[4, 8, 16, 16], norm_num_groups=2, cross_attention_dim=24, attention_head_dim=2),
        vae=dict(SD_VAE, block_out_channels=[4, 8, 16, 16], norm_num_groups=2, sample_size=512),
        scheduler=('PNDMScheduler', dict(SCHEDULER, skip_prk_steps=True, prediction_type='epsilon')),
        merges=2000,
    ),
    'sd21-tiny': dict(
        text=dict(hidden_size=32, intermediate_size=128, num_hidden_layers=3, num_attention_heads=4, hidden_act='gelu', projection_dim=32),
        unet=dict(SD_UNET, sample_size=96, block_out_channels=[4, 8, 16, 16], norm_num_groups=2, cross_attention_dim=32,
                  attention_head_dim=[1, 2, 4, 4], use_linear_projection=True),
        vae=dict(SD_VAE, block_out_channels=[4, 8, 16, 16], norm_num_groups=2, sample_size=768),
        scheduler=('DDIMScheduler', dict(SCHEDULER, clip_sample=False, prediction_type='v_prediction')),
        merges=2000, pad_token='!',
    ),
}


def checkpoint_marker(preset, seed):
    """What a saved torch checkpoint was built from: reused only when preset, seed and the preset's
    definition are all the same (so editing a preset rebuilds the checkpoint)."""
    return json.loads(json.dumps({'preset': preset, 'seed': seed, 'spec': PRESETS[preset]}))


def build_torch_checkpoint(preset, seed, folder):
    """Seeded random weights saved in diffusers' from_pretrained layout (.bin weights)."""
    import diffusers
    from diffusers import AutoencoderKL, UNet2DConditionModel

    spec = PRESETS[preset]
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tokenizer = ClipBpeTokenizer(spec['merges'], spec.get('pad_token', '<|endoftext|>'))
    torch.manual_seed(seed)
    text_config = CLIPTextConfig(vocab_size=len(tokenizer.encoder), **spec['text'])
    text_encoder = CLIPTextModel(text_config)
    (folder / 'text_encoder').mkdir()
    torch.save(text_encoder.state_dict(), folder / 'text_encoder' / 'pytorch_model.bin')
    (folder / 'text_encoder' / 'config.json').write_text(json.dumps(text_config.to_dict(), indent=2) + '\n')
    del text_encoder
    torch.manual_seed(seed + 1)
    unet = UNet2DConditionModel(**spec['unet'])
    unet.save_pretrained(folder / 'unet', safe_serialization=False)
    del unet
    torch.manual_seed(seed + 2)
    vae = AutoencoderKL(**spec['vae'])
    vae.save_pretrained(folder / 'vae', safe_serialization=False)
    del vae
    scheduler_class, scheduler_config = spec['scheduler']
    scheduler = getattr(diffusers, scheduler_class)(**scheduler_config)
    scheduler.save_pretrained(folder / 'scheduler')
    tokenizer.write_folder(folder / 'tokenizer')
    index = {
        '_class_name': 'StableDiffusionPipeline', '_diffusers_version': diffusers.__version__,
        'feature_extractor': [None, None], 'requires_safety_checker': False, 'safety_checker': [None, None],
        'scheduler': ['diffusers', scheduler_class], 'text_encoder': ['transformers', 'CLIPTextModel'],
        'tokenizer': ['transformers', 'CLIPTokenizer'], 'unet': ['diffusers', 'UNet2DConditionModel'], 'vae': ['diffusers', 'AutoencoderKL'],
    }
    (folder / 'model_index.json').write_text(json.dumps(index, indent=2) + '\n')
    (folder / 'sd-export.json').write_text(json.dumps(checkpoint_marker(preset, seed), indent=2) + '\n')


class TorchPipeline(SimpleNamespace):
    """What convert_models reads from StableDiffusionPipeline.from_pretrained: the torch parts."""

    @classmethod
    def from_pretrained(cls, folder, torch_dtype=torch.float32):
        import diffusers
        from diffusers import AutoencoderKL, UNet2DConditionModel

        folder = Path(folder)
        config = json.loads((folder / 'text_encoder' / 'config.json').read_text())
        keys = ('vocab_size', 'hidden_size', 'intermediate_size', 'projection_dim', 'num_hidden_layers', 'num_attention_heads',
                'max_position_embeddings', 'hidden_act', 'layer_norm_eps', 'bos_token_id', 'eos_token_id', 'pad_token_id')
        text_encoder = CLIPTextModel(CLIPTextConfig(**{key: config[key] for key in keys}))
        text_encoder.load_state_dict(torch.load(folder / 'text_encoder' / 'pytorch_model.bin'))
        index = json.loads((folder / 'model_index.json').read_text())
        return cls(
            text_encoder=text_encoder.eval(),
            tokenizer=ClipBpeTokenizer.from_folder(folder / 'tokenizer'),
            unet=UNet2DConditionModel.from_pretrained(folder, subfolder='unet', use_safetensors=False).eval(),
            vae=AutoencoderKL.from_pretrained(folder, subfolder='vae', use_safetensors=False).eval(),
            scheduler=getattr(diffusers, index['scheduler'][1]).from_pretrained(folder, subfolder='scheduler'),
            safety_checker=None,
            feature_extractor=None,
        )

    def to(self, device):
        return self


def load_converter(diffusers_scripts):
    path = Path(diffusers_scripts) / 'convert_stable_diffusion_checkpoint_to_onnx.py'
    spec = importlib.util.spec_from_file_location('convert_stable_diffusion_checkpoint_to_onnx', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def export_diffusers_layout(torch_folder, out, diffusers_scripts):
    """Runs diffusers' converter up to its last step, which needs the onnxruntime Python package."""
    converter = load_converter(diffusers_scripts)
    converter.StableDiffusionPipeline = TorchPipeline
    try:
        converter.convert_models(str(torch_folder), str(out), 14, False)
    except ImportError as error:  # OnnxRuntimeModel.from_pretrained: diffusers' dummy object without onnxruntime
        if 'onnxruntime' not in str(error).lower():
            raise
        print('converter: every part exported; its last step (OnnxStableDiffusionPipeline.save_pretrained) needs '
              'the onnxruntime Python package, so sd-export writes model_index.json, tokenizer/ and scheduler/ itself')
    for part in ('text_encoder/model.onnx', 'unet/model.onnx', 'unet/weights.pb', 'vae_encoder/model.onnx', 'vae_decoder/model.onnx'):
        if not (Path(out) / part).exists():
            raise SystemExit(f'the converter did not write {part}')
    pipeline = TorchPipeline.from_pretrained(torch_folder)
    # What OnnxStableDiffusionPipeline(...).save_pretrained(output_path) writes besides the ONNX files.
    pipeline.scheduler.save_pretrained(Path(out) / 'scheduler')
    pipeline.tokenizer.write_folder(Path(out) / 'tokenizer')
    import diffusers
    index = {
        '_class_name': 'OnnxStableDiffusionPipeline', '_diffusers_version': diffusers.__version__,
        'feature_extractor': [None, None], 'requires_safety_checker': False, 'safety_checker': [None, None],
        'scheduler': ['diffusers', type(pipeline.scheduler).__name__], 'text_encoder': ['diffusers', 'OnnxRuntimeModel'],
        'tokenizer': ['transformers', 'CLIPTokenizer'], 'unet': ['diffusers', 'OnnxRuntimeModel'],
        'vae_decoder': ['diffusers', 'OnnxRuntimeModel'], 'vae_encoder': ['diffusers', 'OnnxRuntimeModel'],
    }
    (Path(out) / 'model_index.json').write_text(json.dumps(index, indent=2, sort_keys=True) + '\n')


def _save_external(path):
    """optimum's convert.py with FORCE_ONNX_EXTERNAL_DATA (or any model over 2 GB): weights in model.onnx_data."""
    import onnx
    model = onnx.load(str(path), load_external_data=True)
    for stale in path.parent.iterdir():
        if stale.name not in ('model.onnx', 'config.json'):
            stale.unlink()
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
              location=path.name + '_data', size_threshold=100, convert_attribute=True)


@torch.no_grad()
def export_optimum_layout(torch_folder, out, external_data):
    """The I/O of optimum 1.27's CLIPTextOnnxConfig, UNetOnnxConfig, VaeEncoderOnnxConfig, VaeDecoderOnnxConfig."""
    pipeline = TorchPipeline.from_pretrained(torch_folder)
    out = Path(out)
    text_encoder, unet, vae = pipeline.text_encoder, pipeline.unet, pipeline.vae
    length = text_encoder.config.max_position_embeddings

    def export(model, args, part, inputs, outputs, axes, big):
        path = out / part / 'model.onnx'
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.onnx.export(model, args, str(path), input_names=inputs, output_names=outputs, dynamic_axes=axes,
                          do_constant_folding=True, opset_version=14)
        if external_data or big:
            _save_external(path)

    ids = torch.tensor([pipeline.tokenizer('A sample prompt')], dtype=torch.int64)
    export(text_encoder, (ids,), 'text_encoder', ['input_ids'], ['last_hidden_state', 'pooler_output'],
           {'input_ids': {0: 'batch_size', 1: 'sequence_length'}, 'last_hidden_state': {0: 'batch_size', 1: 'sequence_length'},
            'pooler_output': {0: 'batch_size'}}, False)
    (out / 'text_encoder' / 'config.json').write_text(json.dumps(json.loads((Path(torch_folder) / 'text_encoder' / 'config.json').read_text()), indent=2) + '\n')

    size = unet.config.sample_size

    class UNetWrapper(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states):
            return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    big = sum(p.numel() for p in unet.parameters()) * 4 > 2 ** 31
    export(UNetWrapper(), (torch.randn(2, unet.config.in_channels, size, size), torch.tensor(981.0), torch.randn(2, length, text_encoder.config.hidden_size)),
           'unet', ['sample', 'timestep', 'encoder_hidden_states'], ['out_sample'],
           {'sample': {0: 'batch_size', 2: 'height', 3: 'width'}, 'encoder_hidden_states': {0: 'batch_size', 1: 'sequence_length'},
            'out_sample': {0: 'batch_size', 2: 'height', 3: 'width'}}, big)
    unet.save_config(out / 'unet')
    del unet

    factor = 2 ** (len(vae.config.block_out_channels) - 1)

    class Encoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = vae

        def forward(self, sample):
            return self.vae.encode(x=sample)['latent_dist'].parameters

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vae = vae

        def forward(self, latent_sample):
            return self.vae.decode(z=latent_sample, return_dict=False)[0]

    image = vae.config.sample_size
    export(Encoder(), (torch.randn(1, 3, image, image),), 'vae_encoder', ['sample'], ['latent_parameters'],
           {'sample': {0: 'batch_size', 2: 'sample_height', 3: 'sample_width'},
            'latent_parameters': {0: 'batch_size', 2: f'sample_height / {factor}', 3: f'sample_width / {factor}'}}, False)
    vae.save_config(out / 'vae_encoder')
    export(Decoder(), (torch.randn(1, vae.config.latent_channels, image // factor, image // factor),), 'vae_decoder', ['latent_sample'], ['sample'],
           {'latent_sample': {0: 'batch_size', 2: 'latent_height', 3: 'latent_width'},
            'sample': {0: 'batch_size', 2: 'height', 3: 'width'}}, False)
    vae.save_config(out / 'vae_decoder')
    pipeline.scheduler.save_pretrained(out / 'scheduler')
    pipeline.tokenizer.write_folder(out / 'tokenizer')
    # optimum saves the source pipeline's own config: model_index.json names the torch classes.
    shutil.copy(Path(torch_folder) / 'model_index.json', out / 'model_index.json')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--preset', choices=sorted(PRESETS), required=True)
    parser.add_argument('--layout', choices=['diffusers', 'optimum'], default='diffusers')
    parser.add_argument('--out', required=True, help='the ONNX model folder to write (replaced)')
    parser.add_argument('--torch-out', help='where the torch checkpoint goes (default: <out>.torch); reused when it was built from the same preset definition and seed')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--external-data', action='store_true', help='optimum layout: every part in model.onnx + model.onnx_data (FORCE_ONNX_EXTERNAL_DATA=1)')
    parser.add_argument('--diffusers-scripts', default=os.environ.get('DIFFUSERS_SCRIPTS'),
                        help="the scripts/ folder of diffusers v0.25.1's source (env DIFFUSERS_SCRIPTS); needed for --layout diffusers")
    args = parser.parse_args()
    if args.layout == 'diffusers' and not args.diffusers_scripts:
        parser.error('--layout diffusers runs diffusers\' own converter: pass --diffusers-scripts <diffusers v0.25.1 source>/scripts '
                     'or set DIFFUSERS_SCRIPTS (tools/sd-export/README.md, "Set-up")')
    out = Path(args.out).resolve()
    torch_folder = Path(args.torch_out or f'{out}.torch').resolve()
    marker = torch_folder / 'sd-export.json'
    if not (marker.exists() and json.loads(marker.read_text()) == checkpoint_marker(args.preset, args.seed)):
        build_torch_checkpoint(args.preset, args.seed, torch_folder)
    if out.exists():
        shutil.rmtree(out)
    if args.layout == 'diffusers':
        export_diffusers_layout(torch_folder, out, args.diffusers_scripts)
    else:
        export_optimum_layout(torch_folder, out, args.external_data)
    print(f'wrote {out} ({args.preset}, {args.layout} layout) from {torch_folder}')


if __name__ == '__main__':
    main()
