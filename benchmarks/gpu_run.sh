#!/bin/bash
# Issue 17's accelerator run, prepared to fit one device call of at most 8 minutes:
# the library's SimCLR step against the same network in PyTorch, ResNet-18 and ResNet-50 at
# 224 px (ImageNet stem, batch 128, two views), float32 and bfloat16 (JAX config.dtype against
# PyTorch autocast), JSON per dtype under $OUT.
#
# The device machine has jax (CUDA), flax, optax and torch but no ml_collections and no network;
# carry it as a wheel. Once, on this (CPU) machine, in the repository root:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl ml_collections==1.1.0
# then through the device tool: run(command="bash benchmarks/gpu_run.sh", carry=[".whl"],
# timeout_s=540). Copy the numbers into benchmarks/README.md ("GPU run"). Extra arguments go to
# the benchmark: `bash benchmarks/gpu_run.sh --quick --rounds=1` is a CPU dry run of this script.
set -u
OUT=${OUT:-/tmp/gpu_run_out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
python3 -c "import ml_collections" 2>/dev/null || {
  echo "ml_collections is missing: carry it as a wheel (see the top of $0)"; exit 1; }
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # peak memory in use, not JAX's preallocation
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$OUT/nvidia_smi.csv" 2>&1
python3 -c "import jax, torch; print(jax.__version__, jax.devices(), torch.__version__)" \
    > "$OUT/versions.txt" 2>&1
for dtype in float32 bfloat16; do
  # ~1-2 min each: compilation dominates; 3 alternated rounds of 10 timed steps per side.
  timeout 230 python3 -m benchmarks.train_throughput --models=resnet18_224,resnet50_224 \
      --dtype="$dtype" --rounds=3 --steps=10 --warmup=2 --no_loop "$@" \
      > "$OUT/train_throughput_gpu_$dtype.json" 2> "$OUT/train_throughput_gpu_$dtype.log"
  echo "$dtype: exit $?"
done
