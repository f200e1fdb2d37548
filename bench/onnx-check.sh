#!/usr/bin/env bash
# RUN: bash bench/onnx-check.sh MODEL.onnx [...]
# ONNX's own checker (onnx.checker.check_model, full_check: shape inference too) on models purepg export wrote.
# Needs: apt-get install python3-onnx (Debian 12: onnx 1.12).
set -euo pipefail
for model in "$@"; do
  /usr/bin/python3 -c "import onnx, sys; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); print(sys.argv[1], 'ok: ir', m.ir_version, 'opset', m.opset_import[0].version, 'outputs', [o.name for o in m.graph.output])" "$model"
done
