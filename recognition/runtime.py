"""ONNX Runtime sessions: created once per process, lazily, thread-safely.

Nothing here runs at import time. Providers come from settings (`FACEAPP_ORT_PROVIDERS`):
"auto" takes CUDA when the installed onnxruntime offers it, then CPU.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from django.conf import settings

from faceapp import metrics

from .exceptions import ModelUnavailable

logger = logging.getLogger(__name__)

_sessions: dict[str, "onnxruntime.InferenceSession"] = {}  # noqa: F821
_lock = threading.Lock()


def model_path(name: str) -> Path:
    return Path(settings.FACEAPP_MODEL_DIR) / f"{name}.onnx"


def resolve_providers(requested: list[str] | None = None) -> list[str]:
    """The providers to ask for, in order, limited to those this onnxruntime build has."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    requested = requested or settings.FACEAPP_ORT_PROVIDERS
    if requested == ["auto"]:
        requested = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    chosen = [p for p in requested if p in available]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")  # always a fallback
    return chosen


def conv_algo_search(name: str) -> str:
    """How cuDNN picks convolution algorithms for model `name` on the CUDA provider.

    ONNX Runtime remembers the choice for one input shape per convolution only. MTCNN's nets see a
    new shape at every pyramid scale and every R/O-Net batch, so any search is paid again on every
    photo: measured on an H100 (docs/benchmarks.md), MTCNN ran 2.4 photos/s (250×250) with
    EXHAUSTIVE, 12.5 with HEURISTIC and 33 with DEFAULT (no search). FaceNet's shape is fixed
    per batch size, so a search pays off: HEURISTIC gave 4,030 faces/s at batch 64, DEFAULT 2,196.
    """
    if name.startswith("mtcnn"):
        return "DEFAULT"
    return settings.FACEAPP_ORT_CUDNN_CONV_ALGO_SEARCH


def provider_options(providers: list[str], name: str) -> list:
    """Providers with their options, as InferenceSession takes them."""
    cuda = {"cudnn_conv_algo_search": conv_algo_search(name)}
    return [(p, cuda) if p == "CUDAExecutionProvider" else p for p in providers]


def get_session(name: str):
    """The shared session for model `name` (e.g. "facenet", "mtcnn_pnet")."""
    session = _sessions.get(name)
    if session is not None:
        return session
    with _lock:
        session = _sessions.get(name)
        if session is None:
            session = _create_session(name)
            _sessions[name] = session
    return session


def _create_session(name: str):
    import onnxruntime as ort

    path = model_path(name)
    if not path.is_file():
        raise ModelUnavailable(f"Model file {path.name} is missing; run `manage.py build_models`.")
    options = ort.SessionOptions()
    options.intra_op_num_threads = settings.FACEAPP_ORT_THREADS
    options.inter_op_num_threads = 1
    if not settings.FACEAPP_ORT_ALLOW_SPINNING:
        # Each session has its own intra-op threads, which by default spin for a while after every run.
        # A recognition runs four sessions back to back (P/R/O-Net, FaceNet), so the spinning threads of
        # the last one steal the cores from the next: measured here, obama-480p took 117 ms with spinning
        # and 68 ms without (detect 71 → 47 ms, embed 41 → 18 ms; docs/benchmarks.md).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if conv_algo_search(name) == "DEFAULT" and "CUDAExecutionProvider" in ort.get_available_providers():
        # The CUDA provider warns through the default logger, on every convolution of every run, that the
        # default algorithm may be slow; it was measured faster here (see conv_algo_search), so keep the log readable.
        options.log_severity_level = 3
        ort.set_default_logger_severity(3)
    providers = provider_options(resolve_providers(), name)
    started = time.perf_counter()
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # a corrupt file or a provider that fails to initialise
        logger.exception("could not load model %s", path)
        raise ModelUnavailable(f"Model {path.name} could not be loaded.") from exc
    metrics.model_load_seconds.labels(name).set(time.perf_counter() - started)
    logger.info("loaded %s with providers %s", path.name, session.get_providers())
    return session


def active_providers() -> dict[str, list[str]]:
    """Providers each loaded session actually runs on (for health and logs)."""
    return {name: s.get_providers() for name, s in _sessions.items()}
