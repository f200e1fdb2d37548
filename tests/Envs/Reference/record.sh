#!/usr/bin/env bash
# Records gymnasium_traces.json (NumPy 2's promotion rules, NEP 50) and gymnasium_traces_numpy1.json (NumPy 1.x's legacy
# rules) from Gymnasium's own source. The recipe, on Debian 12 (bookworm), as root:
#
#   apt-get install python3-numpy python3-cloudpickle python3-typing-extensions   # NumPy 1.24.2 (Debian 12)
#   Gymnasium's source at tag v1.3.0 (commit 53bf3e9a884783eb72ad3fc8b15780914c97c3e1), e.g.
#     git clone https://github.com/Farama-Foundation/Gymnasium && git -C Gymnasium checkout v1.3.0
#   bash record.sh /path/to/Gymnasium
#
# Gymnasium's pure-Python classic-control modules need nothing else (no pygame: nothing is rendered); it is put on
# PYTHONPATH, not installed. Settings:
# - NPY_PROMOTION_STATE=weak makes NumPy 1.24 promote as NumPy 2 does (NEP 50: a Python float is "weak", so a float32
#   action keeps Pendulum's 0.001·u² and 3·u in float32); =legacy is NumPy 1.x's default, where those are float64.
# - NPY_DISABLE_CPU_FEATURES switches off every feature NumPy dispatches at run time above its SSE3 baseline: with them
#   on, NumPy's own SIMD sin/cos (and SVML on AVX-512) differ from the C library's in the last bit for many inputs,
#   so Gymnasium itself gives different CartPole, Pendulum and Acrobot numbers on different hosts. With them off,
#   np.sin/np.cos are the C library's sin/cos (float64) and sinf/cosf (float32), which .NET's Math and MathF call.
set -euo pipefail
gym=${1:?usage: bash record.sh /path/to/Gymnasium}
here=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH=$gym GYMNASIUM_COMMIT=${GYMNASIUM_COMMIT:-$(git -C "$gym" rev-parse HEAD)}
export NPY_DISABLE_CPU_FEATURES="SSSE3 SSE41 POPCNT SSE42 AVX F16C FMA3 AVX2 AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"
NPY_PROMOTION_STATE=weak /usr/bin/python3 -W ignore "$here/make_gymnasium_traces.py" > "$here/gymnasium_traces.json"
NPY_PROMOTION_STATE=legacy /usr/bin/python3 -W ignore "$here/make_gymnasium_traces.py" > "$here/gymnasium_traces_numpy1.json"
