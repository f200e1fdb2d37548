#!/bin/bash
# Silos on two addresses with their membership in Redis, one of them killed (SIGKILL) in the middle of a PPO run:
# the run must finish and write the same policy file, byte for byte, as the same command without --cluster.
# Needs redis-server (apt-get install redis-server). Everything started here is stopped by its process id.
# Run from the repository root: bash bench/redis-cluster.sh [steps=300000]
set -euo pipefail
steps=${1:-300000}
command -v redis-server > /dev/null || { echo "redis-server is not installed (apt-get install redis-server)"; exit 1; }
dotnet build -c Release src/Cli > /dev/null
purepg="dotnet src/Cli/bin/Release/net10.0/purepg.dll"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
redis_port=$(free_port)
redis-server --port "$redis_port" --save '' --appendonly no > "$work/redis.log" 2>&1 & pids+=($!)
sleep 1
$purepg silo --host 127.0.0.2 --port 21111 --gateway 21000 --cluster "redis=127.0.0.1:$redis_port" > "$work/silo-a.log" 2>&1 & silo_a=$!; pids+=($silo_a)
$purepg silo --host 127.0.0.3 --port 21111 --gateway 21000 --cluster "redis=127.0.0.1:$redis_port" > "$work/silo-b.log" 2>&1 & pids+=($!)
until grep -q "silo of cluster" "$work/silo-a.log" && grep -q "silo of cluster" "$work/silo-b.log"; do sleep 0.5; done
grep -h "silo of cluster" "$work/silo-a.log" "$work/silo-b.log"
run=(train --env CartPole-v1 --algo ppo --config configs/ppo-CartPole-v1.json --steps "$steps")
start=$(date +%s.%N)
$purepg "${run[@]}" --cluster "redis=127.0.0.1:$redis_port" --workers 8 --worker-timeout 10 --out "$work/cluster" > "$work/cluster.log" 2>&1 & train=$!
sleep 5
kill -9 "$silo_a"; echo "killed the silo on 127.0.0.2 (SIGKILL) $(printf %.1f "$(echo "$(date +%s.%N) - $start" | bc)") s into the run"
wait "$train" || { cp "$work/cluster.log" "${TMPDIR:-/tmp}/redis-cluster-failed.log"; echo "the cluster run failed (log: ${TMPDIR:-/tmp}/redis-cluster-failed.log):"; tail -3 "$work/cluster.log"; exit 1; }
echo "cluster run, $(printf %.1f "$(echo "$(date +%s.%N) - $start" | bc)") s: $(grep "evaluation" "$work/cluster.log")"
$purepg "${run[@]}" --out "$work/local" > "$work/local.log" 2>&1
cmp "$work"/cluster/*/policy.pgp "$work"/local/*/policy.pgp && echo "policy files byte-identical to the local run ($(grep "evaluation" "$work/local.log"))"
