#!/usr/bin/env bash
# Pack-and-install check for every publishable package: see scripts/pack-check.js.
# Runs at low priority; onnxruntime-node's GPU binaries are not downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
export ONNXRUNTIME_NODE_INSTALL=skip
exec nice -n 10 node scripts/pack-check.js "$@"
