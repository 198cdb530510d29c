#!/usr/bin/env bash
# Rebuilds tools/fixtures/sd-layouts/ (the scaled-down layout fixtures the pipeline tests use) and
# each fixture's diffusers reference. Run from the repository root; see tools/sd-export/README.md
# for what PYTHONPATH and DIFFUSERS_SCRIPTS must hold.
set -euo pipefail
out=tools/fixtures/sd-layouts
work=${SD_EXPORT_WORK:-/tmp/sd-export-work}
mkdir -p "$out" "$work"
python=/usr/bin/python3
export="$python tools/sd-export/sd_export.py"
$export --preset sd15-tiny --layout diffusers --out "$out/diffusers-sd15" --torch-out "$work/sd15-tiny.torch"
$export --preset sd15-tiny --layout optimum --external-data --out "$out/optimum-sd15" --torch-out "$work/sd15-tiny.torch"
$export --preset sd21-tiny --layout diffusers --out "$out/diffusers-sd21" --torch-out "$work/sd21-tiny.torch"
$export --preset sd21-tiny --layout optimum --out "$out/optimum-sd21" --torch-out "$work/sd21-tiny.torch"
for name in diffusers-sd15 optimum-sd15; do
  $python tools/sd-export/reference.py --torch "$work/sd15-tiny.torch" --out "$out/$name/reference.json"
done
for name in diffusers-sd21 optimum-sd21; do
  $python tools/sd-export/reference.py --torch "$work/sd21-tiny.torch" --out "$out/$name/reference.json"
done
# What git commits (the budget is 15 MB): every file the tool wrote.
find "$out" -type f -print0 | xargs -0 du -cb | tail -1
