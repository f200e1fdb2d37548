#!/usr/bin/env bash
# RUN: bash bench/anchors.sh [rounds]
# Side by side, in one run: PurePg's network benchmarks and the PyTorch anchor (shared/anchors/torch_bench.py, one
# thread) on the same work, interleaved over a few rounds so the noisy phases of a shared machine hit both alike.
# Needs: apt-get install python3-torch. Output: bench/anchors-out/round-N-{purepg,torch}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
anchors=../shared/anchors
out=bench/anchors-out
mkdir -p "$out"
dotnet build -c Release bench >/dev/null
for r in $(seq 1 "$rounds"); do
  dotnet run -c Release --no-build --project bench -- --filter '*CategoricalPolicy*' '*Pong*' --job short \
    | grep -E '^\|' | tee "$out/round-$r-purepg.txt"
  /usr/bin/python3 "$anchors/torch_bench.py" --threads 1 --only 'a) cat' | tee "$out/round-$r-torch.txt"
  /usr/bin/python3 "$anchors/torch_bench.py" --threads 1 --only 'e) pong' | tee -a "$out/round-$r-torch.txt"
done
