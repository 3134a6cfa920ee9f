# One image for both roles: `python3 -m app` (the API) and `python3 -m worker` (training).
# The official TensorFlow GPU image at the version pyproject.toml pins; pip keeps its TensorFlow.
ARG TENSORFLOW_IMAGE=tensorflow/tensorflow:2.21.0-gpu
FROM ${TENSORFLOW_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000

WORKDIR /srv
COPY pyproject.toml README.md ./
COPY app ./app
COPY core ./core
COPY models ./models
COPY worker ./worker
COPY client ./client
RUN python3 -m pip install . \
    && python3 -c "import tensorflow as tf, keras; print('tensorflow', tf.__version__, 'keras', keras.__version__)"

RUN useradd --create-home --uid 1000 service && mkdir -p /data && chown service /data
USER service
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8000')}/healthz\", timeout=4)"]
CMD ["python3", "-m", "app"]
