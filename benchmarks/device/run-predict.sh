#!/usr/bin/env bash
# On the GPU machine, in the checkout, with .device/ carried (made by prepare.sh): the prediction
# load benchmark of issue 5, the service and the bare model on Keras' JAX backend, once for each
# number of serving processes in API_PROCESSES_LIST. Logs go to $OUT.
#
#   run with `carry: [".device"]`, the command `bash benchmarks/device/run-predict.sh` and a
#   timeout_s of 560: each benchmark is bounded to 260 s (one round of 5-second measurements of
#   7 cases, the service and its limits in turn, is about 170 s).
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
  --target .device/site .device/whl/*.whl || exit 1
# JAX takes 75 % of the GPU's memory in each process by default; the benchmark and each serving
# process share one GPU.
export PYTHONPATH=$PWD/.device/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1 \
  XLA_PYTHON_CLIENT_PREALLOCATE=false
out=${OUT:-/tmp/device-out}
mkdir -p "$out"
{ nvidia-smi -L; nproc; } 2>&1 | tee "$out/device.txt"
for processes in ${API_PROCESSES_LIST:-1 4}; do
  timeout 260 python3 -m benchmarks.predict_load --archive .device/data/cifar10-jpeg.tar.gz \
    --seconds "${SECONDS_EACH:-5}" --rounds "${ROUNDS:-1}" \
    --concurrency 1 8 32 128 --batch-concurrency 4 8 32 \
    --client-processes "${CLIENT_PROCESSES:-4}" --api-processes "$processes" \
    2>&1 | grep -v -e '^WARNING: All log messages' -e 'absl::InitializeLog' \
    | tee "$out/predict-$processes.log"
done
