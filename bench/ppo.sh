#!/usr/bin/env bash
# RUN: bash bench/ppo.sh [rounds]
# One PPO epoch (32 minibatches of 64 over 2048 samples, CartPole networks), PurePg (BenchmarkDotNet, '*PpoEpoch*') and
# PyTorch (shared/anchors/torch_bench.py --only 'c) PPO', one thread) interleaved over rounds.
# Needs: apt-get install python3-torch. Output: bench/anchors-out/ppo-round-N-{purepg,torch}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
out=bench/anchors-out
mkdir -p "$out"
dotnet build -c Release bench >/dev/null
for r in $(seq 1 "$rounds"); do
  dotnet run -c Release --no-build --project bench -- --filter '*PpoEpoch*' --job short \
    | grep -E '^\|' | tee "$out/ppo-round-$r-purepg.txt"
  /usr/bin/python3 ../shared/anchors/torch_bench.py --threads 1 --only 'c) PPO' | tee "$out/ppo-round-$r-torch.txt"
done
