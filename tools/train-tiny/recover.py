"""Rebuild the torch checkpoints in .runs/ from the shipped ONNX files, so that a stage can be continued on a
machine that never ran the earlier ones (the checkpoints live outside git; the exported model is committed).

  /usr/bin/python3 recover.py            # writes .runs/vae_final.pt, unet_ema.pt, mling_final.pt
  /usr/bin/python3 recover.py --check    # and re-exports them to a temporary folder: every initializer must match
  /usr/bin/python3 recover.py --latents  # and encodes .runs/dataset.pt into .runs/latents.pt (as train_vae.py's end)

torch.onnx.export keeps parameter names for most initializers; the ones it renames (`onnx::MatMul_N` for a
transposed Linear weight, `onnx::Mul_N`/`onnx::Add_N` for a GroupNorm's affine parameters) are numbered in the
order the exporter met them, which is the order the modules run in forward(): the missing parameters are
matched to them in that order, and every shape is checked.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

from common import RUNS, HERE, save_ckpt
from mling_tokenizer import MultilingualTokenizer
from nets import CLIPTextTiny, Lin, MultilingualTiny, UNetTiny, UNET_CFG
from onnx_weights import initializers
from vae import VAE, VAE_CFG

MODEL = os.path.abspath(os.path.join(HERE, "..", "..", "packages", "model-tiny", "model"))


def _forward_order(module, run):
    """Modules in the order their forward() is first entered while `run()` executes."""
    order, hooks = [], []
    for m in module.modules():
        hooks.append(m.register_forward_pre_hook(lambda mod, _in: order.append(mod) if mod not in order else None))
    with torch.no_grad():
        run()
    for h in hooks:
        h.remove()
    return order


def load_from_onnx(module, onnx_path, prefix, run, inits=None):
    """Fill `module`'s parameters and buffers from the initializers of `onnx_path` (names `prefix` + key);
    `inits`: those initializers when the caller has already read them."""
    inits = initializers(onnx_path) if inits is None else inits
    sd = module.state_dict()
    found, missing = {}, []
    for k, v in sd.items():
        a = inits.get(prefix + k)
        if a is None and k.endswith(".weight"):  # stored as float16 behind a parametrization (export.store_fp16)
            a = inits.get(prefix + k[:-len("weight")] + "parametrizations.weight.original")
        if a is None:
            missing.append(k)
            continue
        if tuple(a.shape) != tuple(v.shape):
            raise ValueError(f"{onnx_path}: {prefix + k} has shape {a.shape}, the torch module expects {tuple(v.shape)}")
        found[k] = torch.from_numpy(a.astype(np.float32) if a.dtype == np.float16 else a)
    numbered = sorted((k for k in inits if k.startswith("onnx::")), key=lambda k: int(re.search(r"_(\d+)$", k).group(1)))
    owner = {}
    for name, m in module.named_modules():
        for p in ("weight", "bias"):
            if f"{name}.{p}" in missing:
                owner.setdefault(m, name)
    queue = []  # (state_dict key, kind) in the order the exporter emitted their initializers
    for m in _forward_order(module, run):
        if m not in owner:
            continue
        name = owner[m]
        if isinstance(m, nn.GroupNorm):
            queue += [(name + ".weight", "Mul"), (name + ".bias", "Add")]
        elif isinstance(m, (Lin, nn.Linear)):
            queue.append((name + ".weight", "MatMul"))
        else:
            raise ValueError(f"{onnx_path}: no rule for the renamed parameters of {name} ({type(m).__name__})")
    if len(queue) != len(missing) or len(numbered) != len(queue):
        raise ValueError(f"{onnx_path}: {len(missing)} parameters without a name, {len(queue)} matched by forward "
                         f"order, {len(numbered)} numbered initializers; they must be equal")
    for (k, kind), iname in zip(queue, numbered):
        if not iname.startswith(f"onnx::{kind}_"):
            raise ValueError(f"{onnx_path}: expected an onnx::{kind}_N initializer for {k}, found {iname}")
        a = inits[iname].astype(np.float32)
        a = a.T if kind == "MatMul" else a.reshape(-1)
        if tuple(a.shape) != tuple(sd[k].shape):
            raise ValueError(f"{onnx_path}: {iname} (for {k}) has shape {a.shape}, expected {tuple(sd[k].shape)}")
        found[k] = torch.from_numpy(np.ascontiguousarray(a))
    module.load_state_dict(found)
    return module


def read_json(*parts):
    with open(os.path.join(MODEL, *parts), encoding="utf-8") as fh:
        return json.load(fh)


def recover(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    vcfg = read_json("vae_encoder", "config.json")
    ucfg = read_json("unet", "config.json")
    scale = float(vcfg["scaling_factor"])

    vae = VAE(VAE_CFG).eval()
    load_from_onnx(vae.encoder, os.path.join(MODEL, "vae_encoder", "model.onnx"), "vae.encoder.",
                   lambda: vae.encoder(torch.zeros(1, 3, 64, 64)))
    load_from_onnx(vae.decoder, os.path.join(MODEL, "vae_decoder", "model.onnx"), "vae.decoder.",
                   lambda: vae.decoder(torch.zeros(1, 4, 16, 16)))
    save_ckpt(os.path.join(out_dir, "vae_final.pt"), {"model": vae.state_dict(), "cfg": VAE_CFG, "scaling_factor": scale,
                                                      "recovered_from": "packages/model-tiny/model"})

    cfg = dict(UNET_CFG, text_time=ucfg.get("addition_embed_type") == "text")
    unet = UNetTiny(cfg).eval()
    load_from_onnx(unet, os.path.join(MODEL, "unet", "model.onnx"), "",
                   lambda: unet(torch.zeros(1, 4, 16, 16), torch.zeros(1), torch.zeros(1, 77, 128)))
    te_path = os.path.join(MODEL, "text_encoder", "model.onnx")
    te_inits = initializers(te_path)
    known = known_clip_ids(te_inits["te.lut"], te_inits["te.tok.weight"].shape[0] - 1)
    te = CLIPTextTiny(known).eval()
    ids = torch.full((1, 77), 49407, dtype=torch.long)
    load_from_onnx(te, te_path, "te.", lambda: te(ids), te_inits)
    save_ckpt(os.path.join(out_dir, "unet_ema.pt"), {"unet": unet.state_dict(), "te": te.state_dict(), "known_ids": known,
                                                     "cfg": cfg, "scaling_factor": scale, "step": None,
                                                     "recovered_from": "packages/model-tiny/model"})

    tok = MultilingualTokenizer()
    ml_path = os.path.join(MODEL, "text_encoder_multilingual", "model.onnx")
    ml_inits = initializers(ml_path)
    local = ml_inits.get("local.weight")
    ml = MultilingualTiny(len(tok.vocab), local=0 if local is None else local.shape[-1]).eval()
    load_from_onnx(ml, ml_path, "",
                   lambda: ml(torch.zeros(1, 77, dtype=torch.long), torch.ones(1, 77, dtype=torch.long)), ml_inits)
    save_ckpt(os.path.join(out_dir, "mling_final.pt"), {"model": ml.state_dict(), "step": None,
                                                        "recovered_from": "packages/model-tiny/model"})
    print(f"recovered vae_final.pt, unet_ema.pt ({len(known)} CLIP ids), mling_final.pt into {out_dir}", flush=True)


def known_clip_ids(lut, rows):
    """The CLIP ids the encoder was trained with, from its shipped lookup table.

    export.py writes lut[t] = 1 + (rank of t among the sorted known ids); add_synonyms.py then
    points synonym ids at a trained word's row and records each one's row before that in
    text_encoder/config.json (`latentkit_clip_synonyms`): those with a row of their own before
    (e.g. CLIP's "violet") were known, the others were not.
    """
    config = json.load(open(os.path.join(MODEL, "text_encoder", "config.json"), encoding="utf-8"))
    synonyms = config.get("latentkit_clip_synonyms", {})
    aliased = {entry["clip_id"]: entry["previous_row"] for entry in synonyms.values()}
    known = sorted(int(i) for i in np.nonzero(lut)[0] if aliased.get(int(i), 1) != 0)
    if len(known) != rows:
        raise ValueError(f"the text encoder's lookup table gives {len(known)} known CLIP ids, its embedding has {rows} rows besides the unknown one")
    return known


def check(runs_dir):
    """Re-export the recovered checkpoints and compare every initializer with the shipped files."""
    tmp = tempfile.mkdtemp(prefix="lk-recover-")
    env = dict(os.environ, LK_RUNS=runs_dir, LK_OUT=tmp)
    subprocess.run([sys.executable, os.path.join(HERE, "export.py")], env=env, check=True, cwd=HERE)
    # The shipped model has the synonyms applied after export.
    subprocess.run([sys.executable, os.path.join(HERE, "add_synonyms.py"), "--model", tmp], check=True, cwd=HERE)
    bad = 0
    for part in ("vae_encoder", "vae_decoder", "text_encoder", "unet", "text_encoder_multilingual"):
        a = initializers(os.path.join(MODEL, part, "model.onnx"))
        b = initializers(os.path.join(tmp, part, "model.onnx"))
        worst = 0.0
        for k, v in a.items():
            if k not in b or b[k].shape != v.shape:
                print(f"  {part}: {k} missing or reshaped in the re-export"); bad += 1; continue
            worst = max(worst, float(np.abs(v.astype(np.float64) - b[k].astype(np.float64)).max(initial=0.0)))
        print(f"{part}: {len(a)} initializers, re-export max |diff| {worst:.3g}")
        bad += worst > 0
    shutil.rmtree(tmp, ignore_errors=True)
    return bad


def encode_latents(runs_dir):
    """The dataset's latent means and log-variances under the recovered VAE (what train_vae.py writes at its end)."""
    import dataset
    import time
    data = dataset.build()
    v = torch.load(os.path.join(runs_dir, "vae_final.pt"))
    vae = VAE(v["cfg"]); vae.load_state_dict(v["model"]); vae.eval()
    imgs = data["images"]
    means, logvars = [], []
    t0 = time.time()
    with torch.no_grad():
        for i in range(0, imgs.shape[0], 500):
            mu, lv = vae.encode(imgs[i:i + 500].float() / 127.5 - 1)
            means.append(mu.half()); logvars.append(lv.half())
            if i % 10000 == 0:
                print(f"encoded {i}/{imgs.shape[0]} ({time.time() - t0:.0f}s)", flush=True)
    save_ckpt(os.path.join(runs_dir, "latents.pt"), {"mean": torch.cat(means), "logvar": torch.cat(logvars),
                                                    "scaling_factor": v["scaling_factor"]})
    print(f"latents.pt: {imgs.shape[0]} images in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="re-export and compare with the shipped ONNX files")
    ap.add_argument("--latents", action="store_true", help="also encode .runs/dataset.pt into .runs/latents.pt")
    args = ap.parse_args()
    recover(RUNS)
    if args.latents:
        encode_latents(RUNS)
    if args.check:
        sys.exit(1 if check(RUNS) else 0)
