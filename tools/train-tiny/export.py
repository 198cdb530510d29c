"""Stage 4: export all parts to ONNX in the diffusers layout under packages/model-tiny/model/.

  /usr/bin/python3 export.py            # uses .runs/vae_final.pt, unet_ema.pt, mling_final.pt (if present)
Writes check data to .runs/onnx_check/ and runs check_onnx.js (onnxruntime-node) when available.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as P

import dataset
from clip_tokenizer import CLIPTokenizer
from common import RUNS, HERE, setup
from mling_tokenizer import MultilingualTokenizer, write_check
from nets import CLIPTextTiny, MultilingualTiny, UNetTiny, Lin, multilingual_from_state
from vae import VAE

OUT = os.environ.get("LK_OUT") or os.path.abspath(os.path.join(HERE, "..", "..", "packages", "model-tiny", "model"))
OPSET = 17
DV = "0.25.1"
ML_CFG = dict(layers=3, heads=4, ff=512)
CLIP_CFG = dict(layers=3, heads=4, ff=512)


class ToFloat(nn.Module):
    def forward(self, w):
        return w.float()


def store_fp16(model, min_numel=4096):
    """Store big conv/linear weights as fp16 initializers with a Cast to float32 in the graph."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.numel() >= min_numel:
            m.weight.data = m.weight.data.half()
            P.register_parametrization(m, "weight", ToFloat(), unsafe=True)


def load_models(fp16_unet=True):
    v = torch.load(os.path.join(RUNS, "vae_final.pt"))
    vae = VAE(v["cfg"]); vae.load_state_dict(v["model"]); vae.eval()
    u = torch.load(os.path.join(RUNS, "unet_ema.pt"))
    unet = UNetTiny(u["cfg"]); unet.load_state_dict(u["unet"]); unet.eval()
    te = CLIPTextTiny(u["known_ids"], **CLIP_CFG); te.load_state_dict(u["te"]); te.eval()
    mtok = MultilingualTokenizer()
    ml = MultilingualTiny(len(mtok.vocab), **ML_CFG)
    mp = os.path.join(RUNS, "mling_final.pt")
    ml_info = None
    if os.path.exists(mp):
        m = torch.load(mp); ml = multilingual_from_state(m["model"], len(mtok.vocab)); ml_info = m
    ml.eval()
    if fp16_unet:
        store_fp16(unet)
    return dict(vae=vae, vae_info=v, unet=unet, unet_info=u, te=te, ml=ml, ml_info=ml_info, mtok=mtok)


class VaeEnc(nn.Module):
    def __init__(self, vae):
        super().__init__(); self.vae = vae

    def forward(self, sample):
        return self.vae.encoder(sample)


class VaeDec(nn.Module):
    def __init__(self, vae):
        super().__init__(); self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decoder(latent_sample).clamp(-1.0, 1.0)


class TE(nn.Module):
    def __init__(self, te):
        super().__init__(); self.te = te

    def forward(self, input_ids):
        return self.te(input_ids)


def export(mod, args, path, inames, onames, dyn, fold=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(mod, args, path, input_names=inames, output_names=onames, dynamic_axes=dyn,
                          opset_version=OPSET, do_constant_folding=fold)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False)
        fh.write("\n")


def configs(M):
    vcfg = M["vae_info"]["cfg"]
    ucfg = M["unet_info"]["cfg"]
    n = len(vcfg["block_out_channels"])
    vae_config = {
        "_class_name": "AutoencoderKL", "_diffusers_version": DV,
        "act_fn": "silu", "block_out_channels": vcfg["block_out_channels"],
        "down_block_types": ["DownEncoderBlock2D"] * n, "up_block_types": ["UpDecoderBlock2D"] * n,
        "in_channels": 3, "out_channels": 3, "latent_channels": 4,
        "layers_per_block": vcfg["layers_per_block"], "norm_num_groups": vcfg["norm_num_groups"],
        "sample_size": 64, "scaling_factor": round(float(M["vae_info"]["scaling_factor"]), 6),
        "force_upcast": False,
    }
    unet_config = {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": DV,
        "act_fn": "silu", "attention_head_dim": ucfg["attention_head_dim"],
        "block_out_channels": ucfg["block_out_channels"], "center_input_sample": False,
        "cross_attention_dim": ucfg["cross_attention_dim"],
        "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
        "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
        "in_channels": 4, "layers_per_block": ucfg["layers_per_block"], "mid_block_scale_factor": 1,
        "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-06, "norm_num_groups": ucfg["norm_num_groups"],
        "only_cross_attention": False, "out_channels": 4, "sample_size": 16,
        "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
        "upcast_attention": False, "use_linear_projection": True, "transformer_layers_per_block": 1,
        "time_embedding_type": "positional", "resnet_time_scale_shift": "default",
    }
    if ucfg.get("text_time"):
        unet_config["addition_embed_type"] = "text"
        unet_config["latentkit_note"] = ("addition_embed_type 'text' here is a mean over the 77 encoder_hidden_states "
                                         "-> Linear(128,256) -> SiLU -> Linear(256,256), added to the time embedding "
                                         "(diffusers' TextTimeEmbedding uses attention pooling instead)")
    te_config = {
        "_name_or_path": "latentkit-tiny/text_encoder", "architectures": ["CLIPTextModel"],
        "model_type": "clip_text_model", "hidden_size": 128, "intermediate_size": CLIP_CFG["ff"],
        "num_hidden_layers": CLIP_CFG["layers"], "num_attention_heads": CLIP_CFG["heads"],
        "max_position_embeddings": 77, "vocab_size": 49408, "hidden_act": "gelu", "layer_norm_eps": 1e-05,
        "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407, "projection_dim": 128,
        "torch_dtype": "float32",
        "latentkit_note": "embedding rows exist only for the %d CLIP ids used by the training captions; every "
                          "other id maps (int64 Gather lookup table inside the graph) to one shared unknown row"
                          % len(M["unet_info"]["known_ids"]),
    }
    ml_config = {
        "_name_or_path": "latentkit-tiny/text_encoder_multilingual", "architectures": ["BertModel"],
        "model_type": "bert", "hidden_size": 128, "intermediate_size": ML_CFG["ff"],
        "num_hidden_layers": ML_CFG["layers"], "num_attention_heads": ML_CFG["heads"],
        "max_position_embeddings": 77, "vocab_size": len(M["mtok"].vocab), "hidden_act": "gelu",
        "layer_norm_eps": 1e-05, "pad_token_id": 0, "torch_dtype": "float32",
        "latentkit_note": "pre-LN bidirectional transformer trained through the frozen UNet's diffusion loss "
                          "(en, fr, es, de, zh); output lives in the same space as text_encoder's last_hidden_state",
    }
    if M["ml"].local is not None:
        k = M["ml"].local.kernel_size[0]
        ml_config["latentkit_note"] += (f"; a width-{k} convolution over the token embeddings (n-gram mixing) "
                                        "runs before the first layer")
    sched = {
        "_class_name": "DDIMScheduler", "_diffusers_version": DV,
        "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
        "clip_sample": False, "set_alpha_to_one": False, "steps_offset": 1, "prediction_type": "epsilon",
        "timestep_spacing": "leading", "trained_betas": None,
    }
    index = {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": DV,
        "scheduler": ["diffusers", "DDIMScheduler"],
        "text_encoder": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"],
        "unet": ["diffusers", "OnnxRuntimeModel"],
        "vae_encoder": ["diffusers", "OnnxRuntimeModel"],
        "vae_decoder": ["diffusers", "OnnxRuntimeModel"],
        "text_encoder_multilingual": ["diffusers", "OnnxRuntimeModel"],
        "tokenizer_multilingual": ["tokenizers", "PreTrainedTokenizerFast"],
        "safety_checker": [None, None], "feature_extractor": [None, None],
        "requires_safety_checker": False,
    }
    return vae_config, unet_config, te_config, ml_config, sched, index


def main():
    setup(0)
    M = load_models()
    vae_config, unet_config, te_config, ml_config, sched, index = configs(M)
    write_json(os.path.join(OUT, "model_index.json"), index)
    write_json(os.path.join(OUT, "scheduler", "scheduler_config.json"), sched)
    write_json(os.path.join(OUT, "vae_encoder", "config.json"), vae_config)
    write_json(os.path.join(OUT, "vae_decoder", "config.json"), vae_config)
    write_json(os.path.join(OUT, "unet", "config.json"), unet_config)
    write_json(os.path.join(OUT, "text_encoder", "config.json"), te_config)
    write_json(os.path.join(OUT, "text_encoder_multilingual", "config.json"), ml_config)
    ctok = CLIPTokenizer(); ctok.write_folder(os.path.join(OUT, "tokenizer"))
    M["mtok"].write_folder(os.path.join(OUT, "tokenizer_multilingual"))
    write_check(os.path.join(HERE, "multilingual_tokenizer_check.json"))
    dataset.write_heldout()

    g = torch.Generator().manual_seed(0)
    B = 2
    x_img = torch.rand(B, 3, 64, 64, generator=g) * 2 - 1
    x_lat = torch.randn(B, 4, 16, 16, generator=g)
    t = torch.tensor([981.0, 1.0])
    ids = torch.tensor([ctok("a red circle on a blue background"), ctok("")], dtype=torch.int32)
    ids_ood = torch.tensor([ctok("an astronaut riding a horse, 8k"), ctok("green square, white background")], dtype=torch.int32)
    mi, mm = zip(*[M["mtok"]("ein roter Kreis auf blauem Hintergrund"), M["mtok"]("蓝色背景上的红色圆形")])
    mids, mmask = torch.tensor(mi), torch.tensor(mm)
    ehs = torch.randn(B, 77, 128, generator=g)

    parts = {
        "vae_encoder": (VaeEnc(M["vae"]), (x_img,), ["sample"], ["latent_parameters"], True),
        "vae_decoder": (VaeDec(M["vae"]), (x_lat,), ["latent_sample"], ["sample"], True),
        "text_encoder": (TE(M["te"]), (ids,), ["input_ids"], ["last_hidden_state", "pooler_output"], True),
        "unet": (M["unet"], (x_lat, t, ehs), ["sample", "timestep", "encoder_hidden_states"], ["out_sample"], False),
        "text_encoder_multilingual": (M["ml"], (mids, mmask), ["input_ids", "attention_mask"], ["last_hidden_state"], True),
    }
    check_dir = os.path.join(RUNS, "onnx_check")
    shutil.rmtree(check_dir, ignore_errors=True); os.makedirs(check_dir)
    manifest = {}
    for name, (mod, args, inames, onames, fold) in parts.items():
        mod.eval()
        dyn = {n: {0: "batch"} for n in inames + onames}
        path = os.path.join(OUT, name, "model.onnx")
        export(mod, args, path, inames, onames, dyn, fold)
        cases = [args] + ([(ids_ood,)] if name == "text_encoder" else [])
        entries = []
        for ci, a in enumerate(cases):
            with torch.no_grad():
                outs = mod(*a)
            outs = outs if isinstance(outs, tuple) else (outs,)
            ins = []
            for n, arr in zip(inames, a):
                f = f"{name}_{ci}_in_{n}.bin"; arr.numpy().tofile(os.path.join(check_dir, f))
                ins.append({"name": n, "file": f, "dtype": str(arr.dtype).replace("torch.", ""), "shape": list(arr.shape)})
            os_ = []
            for n, arr in zip(onames, outs):
                f = f"{name}_{ci}_out_{n}.bin"; arr.float().numpy().tofile(os.path.join(check_dir, f))
                os_.append({"name": n, "file": f, "shape": list(arr.shape)})
            entries.append({"inputs": ins, "outputs": os_})
        manifest[name] = entries
        print(f"exported {name}: {os.path.getsize(path) / 1e6:.2f} MB", flush=True)
    write_json(os.path.join(check_dir, "manifest.json"), manifest)
    r = subprocess.run(["node", os.path.join(HERE, "check_onnx.js"), OUT, check_dir], cwd=os.path.join(HERE, "..", ".."))
    print("onnx check rc", r.returncode)


if __name__ == "__main__":
    main()
