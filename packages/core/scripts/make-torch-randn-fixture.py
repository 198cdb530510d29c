"""Writes src/__fixtures__/torch-randn.json: values of torch.randn on the CPU generator that
TorchGenerator must reproduce. Run with PyTorch installed (the values here came from torch 1.13):

    python3 packages/core/scripts/make-torch-randn-fixture.py

Each case seeds one torch.Generator('cpu') and draws the listed shapes one after another, so
the fixture also checks the state carried between draws (the Mersenne Twister position and the
cached second Box-Muller value of the scalar path).
"""
import json
import os

import torch

CASES = [
    {"seed": 0, "draws": [[1, 4, 8, 8]], "dtype": "float32"},
    {"seed": 0, "draws": [[1], [3], [15], [16], [17], [31], [64]], "dtype": "float32"},
    {"seed": 42, "draws": [[1000], [1025]], "dtype": "float32"},
    {"seed": 1234, "draws": [[3], [1], [2], [16], [5], [33]], "dtype": "float32"},
    {"seed": 7, "draws": [[1], [15], [16], [17], [100]], "dtype": "float64"},
    {"seed": 2**32 + 5, "draws": [[20], [3]], "dtype": "float32"},
    {"seed": 2**63 - 1, "draws": [[18], [1]], "dtype": "float32"},
    {"seed": 0xFFFF_FFFF_FFFF_FFFF, "draws": [[4], [40]], "dtype": "float32"},
    {"seed": 123456789, "draws": [[2, 4, 16, 16]], "dtype": "float32"},
]


def main() -> None:
    out = {"torch_version": torch.__version__, "cases": []}
    for case in CASES:
        generator = torch.Generator("cpu").manual_seed(case["seed"])
        dtype = getattr(torch, case["dtype"])
        draws = [torch.randn(shape, generator=generator, dtype=dtype).flatten().tolist() for shape in case["draws"]]
        # repr() of a Python float is the shortest round-trip decimal of the double; float32 values
        # converted to double are exact, so Math.fround() recovers them bit for bit.
        out["cases"].append({**case, "seed": str(case["seed"]), "values": draws})
    path = os.path.join(os.path.dirname(__file__), "..", "src", "__fixtures__", "torch-randn.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
