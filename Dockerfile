# syntax=docker/dockerfile:1
# One image for the web platform (daphne) and the detection workers (Celery).
#   docker build -t unmask .                                    CUDA-capable torch (GPU workers)
#   docker build --build-arg TORCH_VARIANT=cpu -t unmask:cpu .   CPU-only torch, a smaller image
# PyPI's torch wheels for Linux carry the CUDA runtime; the host only needs the NVIDIA driver
# and the NVIDIA Container Toolkit. The CPU variant comes from the PyTorch CPU index.

FROM python:3.12-slim AS build
ARG TORCH_VARIANT=cuda
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements.txt requirements-nodeps.txt /tmp/requirements/
# torch and torchvision first, from the variant's index, at the versions requirements.txt pins;
# the full install then finds them satisfied (2.x.y+cpu satisfies ==2.x.y).
RUN set -eu; \
    pins="$(grep -E '^(torch|torchvision)==' /tmp/requirements/requirements.txt)"; \
    case "$TORCH_VARIANT" in \
      cuda) pip install $pins ;; \
      cpu) pip install --index-url https://download.pytorch.org/whl/cpu $pins ;; \
      *) echo "TORCH_VARIANT must be cuda or cpu, not '$TORCH_VARIANT'" >&2; exit 1 ;; \
    esac; \
    pip install -r /tmp/requirements/requirements.txt; \
    pip install --no-deps -r /tmp/requirements/requirements-nodeps.txt

FROM python:3.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin unmask
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=unmask:unmask . .
# platform/ is a plain folder holding the site package `unmask`; it goes on the path, never
# becomes a package (it would shadow the standard-library `platform`).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app:/app/platform \
    DJANGO_SETTINGS_MODULE=unmask.settings \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UNMASK_DATA_DIR=/app/var
RUN mkdir -p /app/var && chown unmask:unmask /app/var
USER unmask
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "scripts/healthcheck.py"]
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "unmask.asgi:application"]
