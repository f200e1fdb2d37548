#!/usr/bin/env bash
# RUN: bash bench/fisher.sh [rounds]
# The Fisher-vector product and 10 CG iterations of the CartPole policy on 2048 states, PurePg (BenchmarkDotNet,
# '*Fisher*') and PyTorch (shared/anchors/torch_bench.py --only 'd) TRPO', one thread) interleaved over rounds.
# Needs: apt-get install python3-torch. Output: bench/anchors-out/fisher-round-N-{purepg,torch}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
out=bench/anchors-out
mkdir -p "$out"
dotnet build -c Release bench >/dev/null
for r in $(seq 1 "$rounds"); do
  dotnet run -c Release --no-build --project bench -- --filter '*Fisher*' --job short \
    | grep -E '^\|' | tee "$out/fisher-round-$r-purepg.txt"
  /usr/bin/python3 ../shared/anchors/torch_bench.py --threads 1 --only 'd) TRPO' | tee "$out/fisher-round-$r-torch.txt"
done
