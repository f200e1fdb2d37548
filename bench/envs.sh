#!/usr/bin/env bash
# RUN: bash bench/envs.sh [rounds]
# CartPole-v1 stepping side by side, in one run, interleaved over rounds: the compiled C loop
# (shared/anchors/cartpole.c, gcc -O3 -march=native), the vectorized NumPy CartPole (bench/anchors/cartpole_numpy.py;
# needs apt-get install python3-numpy) and PurePg (BenchmarkDotNet, '*CartPole*').
# Output: bench/anchors-out/envs-round-N-{c,numpy,purepg}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
out=bench/anchors-out
mkdir -p "$out"
gcc -O3 -march=native ../shared/anchors/cartpole.c -o "$out/cartpole" -lm
dotnet build -c Release bench >/dev/null
for r in $(seq 1 "$rounds"); do
  "$out/cartpole" | tee "$out/envs-round-$r-c.txt"
  /usr/bin/python3 bench/anchors/cartpole_numpy.py 1 64 1024 | tee "$out/envs-round-$r-numpy.txt"
  dotnet run -c Release --no-build --project bench -- --filter '*CartPole*' --job short \
    | grep -E '^\|' | tee "$out/envs-round-$r-purepg.txt"
done
