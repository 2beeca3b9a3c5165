#!/usr/bin/env bash
# `make pi-check`: the device side on an emulated Raspberry Pi 4 - an arm64 Debian root run under
# qemu user-mode emulation (scripts/arm64-root.sh), where leaf-edge is installed with only its
# device extras (no TensorFlow) and classifies the bundled recording with the shipped model.
# Proves the stack installs and runs on aarch64; not for timing (emulation is 50-330x slower).
# Needs root (apt, debootstrap, chroot); about 15 minutes the first time, ~3 after.
set -euo pipefail
cd "$(dirname "$0")/.."
export ARM_ROOT=${ARM_ROOT:-${TMPDIR:-/tmp}/leaf-edge-arm64root}
arm="bash scripts/arm64-root.sh"

command -v qemu-aarch64-static >/dev/null && command -v debootstrap >/dev/null || $arm install
$arm build
echo "[pi-check] copying the project (tracked files, models included) into the root"
rm -rf "$ARM_ROOT/opt/leaf-edge" && mkdir -p "$ARM_ROOT/opt/leaf-edge"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$ARM_ROOT/opt/leaf-edge"
$arm run /opt/venv/bin/pip install --quiet --no-cache-dir '/opt/leaf-edge[device]'
$arm run /bin/sh -c '
  set -e
  cd /opt/leaf-edge
  echo "[pi-check] $(uname -m), $(/opt/venv/bin/python --version), TensorFlow installed:" \
       "$(/opt/venv/bin/python -c "import importlib.util as u; print(u.find_spec(\"tensorflow\") is not None)")"
  /opt/venv/bin/leaf-edge inspect models/keywords-leaf.tflite | head -4
  start=$(date +%s)
  /opt/venv/bin/leaf-edge classify models/keywords-leaf.tflite models/demo-keywords.wav
  echo "[pi-check] classify took $(( $(date +%s) - start )) s under emulation"
'
