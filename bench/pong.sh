#!/usr/bin/env bash
# RUN: bash bench/pong.sh [rounds]
# The Pong figures side by side, in one run, interleaved over rounds: PurePg's Pong stepping (beside CartPole's), the
# learning step on 1 and 2 threads, acting at batch 1 (BenchmarkDotNet, --job short), and the PyTorch anchor's Pong case
# (shared/anchors/torch_bench.py --only 'e) pong') with 1 and 2 threads; first the machine line and FMA peak (bench peak).
# Needs: apt-get install python3-torch. Output: bench/anchors-out/pong-round-N-{purepg,torch1,torch2}.txt
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
out=bench/anchors-out
mkdir -p "$out"
dotnet build -c Release bench >/dev/null
dotnet run -c Release --no-build --project bench -- peak | tee "$out/pong-peak.txt"  # machine line, FMA peak, GEMM (Pong shapes too) as % of it
for r in $(seq 1 "$rounds"); do
  dotnet run -c Release --no-build --project bench -- --filter '*PongEnv*' '*PongLearningStep*' '*PongActing*' '*CartPoleVector*' --job short \
    | grep -E '^\||^// PongActing' | tee "$out/pong-round-$r-purepg.txt"
  /usr/bin/python3 ../shared/anchors/torch_bench.py --threads 1 --only 'e) pong' | tee "$out/pong-round-$r-torch1.txt"
  /usr/bin/python3 ../shared/anchors/torch_bench.py --threads 2 --only 'e) pong' | tee "$out/pong-round-$r-torch2.txt"
done
