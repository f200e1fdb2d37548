#!/usr/bin/env bash
# RUN: bash bench/beside-torch.sh CASE [rounds]
# One PurePg benchmark (BenchmarkDotNet, --job short) and its PyTorch case in shared/anchors/torch_bench.py (one thread),
# interleaved over rounds so the noisy phases of a shared machine hit both alike. CASE:
#   fisher  '*Fisher*'   beside 'd) TRPO'   (F·v and 10 CG iterations, CartPole policy, 2048 states)
#   ppo     '*PpoEpoch*' beside 'c) PPO'    (one PPO epoch: 32 minibatches of 64 over 2048 samples)
# Needs: apt-get install python3-torch. Output: bench/anchors-out/CASE-round-N-{purepg,torch}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:?usage: bash bench/beside-torch.sh fisher|ppo [rounds]}" in
  fisher) filter='*Fisher*'; torch='d) TRPO' ;;
  ppo) filter='*PpoEpoch*'; torch='c) PPO' ;;
  *) echo "unknown case '$1' (fisher or ppo)" >&2; exit 1 ;;
esac
rounds=${2:-2}
out=bench/anchors-out
mkdir -p "$out"
dotnet build -c Release bench >/dev/null
for r in $(seq 1 "$rounds"); do
  dotnet run -c Release --no-build --project bench -- --filter "$filter" --job short \
    | grep -E '^\|' | tee "$out/$1-round-$r-purepg.txt"
  /usr/bin/python3 ../shared/anchors/torch_bench.py --threads 1 --only "$torch" | tee "$out/$1-round-$r-torch.txt"
done
