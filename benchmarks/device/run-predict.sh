#!/usr/bin/env bash
# On the GPU machine, in the checkout, with .device/ carried (made by prepare.sh): the prediction
# load benchmark of issue 5, the service and the bare model on Keras' JAX backend. Logs go to $OUT.
#
#   run with `carry: [".device"]`, the command `bash benchmarks/device/run-predict.sh` and a
#   timeout_s of 330: the benchmark is bounded to 300 s.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --target .device/site .device/whl/*.whl || exit 1
# JAX takes 75 % of the GPU's memory in each process by default; the benchmark and the service
# are two processes on one GPU.
export PYTHONPATH=$PWD/.device/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 \
  XLA_PYTHON_CLIENT_PREALLOCATE=false
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
{ nvidia-smi -L; nproc; } 2>&1 | tee "$out/device.txt"
timeout 300 python3 -m benchmarks.predict_load --archive .device/data/cifar10-jpeg.tar.gz \
  --seconds "${SECONDS_EACH:-8}" --concurrency 1 8 32 128 --batch-concurrency 4 8 32 \
  --client-processes "${CLIENT_PROCESSES:-4}" \
  2>&1 | grep -v -e '^WARNING: All log messages' -e 'absl::InitializeLog' | tee "$out/predict.log"
