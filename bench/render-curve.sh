#!/usr/bin/env bash
# RUN: bash bench/render-curve.sh RUN_DIR [out.png]
# Renders a run's curve.svg in headless Chromium to a PNG, to look at the learning curve as a browser shows it.
# Needs: apt-get install chromium.
set -euo pipefail
run=${1:?usage: bash bench/render-curve.sh RUN_DIR [out.png]}
out=${2:-$run/curve.png}
chromium --headless --no-sandbox --disable-gpu --window-size=760,460 --hide-scrollbars --screenshot="$out" "file://$(realpath "$run")/curve.svg" 2>/dev/null
echo "$out"
