#!/usr/bin/env bash
# Create the virtual environment that runs a real Triton server on CPU (PyPI's nvidia-pytriton 0.7.0).
#
#   scripts/make_pytriton_env.sh [ENV_DIR]        # default: bench/.venvs/pytriton
#
# pytriton needs numpy < 2, which conflicts with our own pins, so it lives in its own environment
# (DESIGN.md §7). It also gets the CPU torch wheel, to load the exported TorchScript models. Idempotent:
# a finished environment (stamp file present) is left as it is. Exits non-zero when it cannot be built;
# the tests then skip the real-Triton checks and print why (the log is beside the environment).
set -euo pipefail
cd "$(dirname "$0")/.."
ENV_DIR=${1:-${POLYAD_PYTRITON_ENV:-bench/.venvs/pytriton}}
PYTHON=${PYTHON:-python3}
STAMP="$ENV_DIR/.installed-pytriton-0.7.0"
LOG="$ENV_DIR.log"

if [ -f "$STAMP" ] && "$ENV_DIR/bin/python" -c "import pytriton, torch" 2>/dev/null; then
    exit 0
fi
mkdir -p "$(dirname "$ENV_DIR")"
echo "setting up $ENV_DIR (nvidia-pytriton 0.7.0, numpy < 2, CPU torch); log: $LOG"
{
    test -x "$ENV_DIR/bin/python" || "$PYTHON" -m venv "$ENV_DIR"
    "$ENV_DIR/bin/python" -m pip install --quiet --upgrade pip
    # CPU torch first, pinned: a looser range would pull a multi-GB CUDA build.
    "$ENV_DIR/bin/python" -m pip install --quiet "torch==2.13.0"
    "$ENV_DIR/bin/python" -m pip install --quiet "nvidia-pytriton==0.7.0" "numpy<2"
    "$ENV_DIR/bin/python" -c "import pytriton, torch, numpy; assert numpy.__version__ < '2'"
} >"$LOG" 2>&1 || { echo "cannot create $ENV_DIR; see $LOG" >&2; exit 1; }
touch "$STAMP"
