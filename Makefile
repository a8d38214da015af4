# faceapp: `make run` sets everything up and serves; `make test` sets everything up and runs the tests.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check

.PHONY: run test setup venv models migrate static clean

run: setup migrate static
	$(BIN)/python manage.py serve

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(DEPS) models

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# pip's cache (~/.cache/pip, outside the clone) keeps repeat installs fast.
$(DEPS): $(BIN)/python requirements.txt requirements-build.txt requirements-build-nodeps.txt requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	$(PIP) install --no-deps -r requirements-build-nodeps.txt
	touch $(DEPS)

# Cached outside the clone (FACEAPP_MODEL_CACHE, default ~/.cache/faceapp/models), keyed by its inputs.
models: $(DEPS)
	$(BIN)/python manage.py build_models

migrate: $(DEPS)
	$(BIN)/python manage.py migrate --noinput

# The admin's, the operator UI's and the API docs' CSS/JS, served by whitenoise from FACEAPP_STATIC_ROOT.
static: $(DEPS)
	$(BIN)/python manage.py collectstatic --noinput -v 0

clean:
	-$(BIN)/python manage.py embedded_db stop
	rm -rf $(VENV) models/*.onnx models/manifest.json var .pytest_cache
