#!/usr/bin/env bash
# Packs, into the ignored folder .device/, what a GPU machine of the `device` tool needs to run
# the benchmarks (../shared/device/README.md): the data set, and wheels of what the training
# code and the service import beyond that machine's own packages (JAX, NumPy, Pillow, h5py, rich,
# httpx), at the versions this project pins.
#
#   benchmarks/device/prepare.sh [python version of the GPU machine, default 3.12]
set -euo pipefail
cd "$(dirname "$0")/../.."
version=${1:-3.12}

grep -qxF /.device/ .git/info/exclude 2>/dev/null || echo /.device/ >> .git/info/exclude
rm -rf .device/whl .device/site .device/cache .device/data  # nothing left from an earlier run
mkdir -p .device/whl .device/data
install -m 0644 ../shared/datasets/cifar10-jpeg.tar.gz .device/data/

# Keras and its small dependencies; pydantic for the job schema; simplejpeg for decoding; then
# the service's own stack, for the prediction benchmark (run-predict.sh), with sniffio, which
# httpcore imports on every request of the benchmark's clients (pyproject.toml).
wanted='keras|namex|optree|absl-py|packaging|pydantic|pydantic-core|annotated-types|typing-inspection|typing-extensions|simplejpeg'
wanted+='|fastapi|annotated-doc|opentelemetry-api|starlette|uvicorn|httptools|uvloop|click|pydantic-settings|python-dotenv|sqlalchemy|greenlet|alembic|mako|markupsafe|python-multipart|multipart|orjson|python-json-logger|prometheus-client|sniffio'
pins=$(.venv/bin/python -m pip list --format=freeze | sed 's/_/-/g' | grep -iE "^($wanted)==")
# shellcheck disable=SC2086  # one argument per pin
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$version" \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .device/whl $pins
ls .device/whl
du -sh .device
