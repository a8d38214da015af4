"""Load the models and run them once, so that the first real request is not slow."""
import logging

import numpy as np

logger = logging.getLogger(__name__)


def warm_up() -> None:
    from . import pipeline
    from .exceptions import ModelUnavailable

    try:
        pipeline.analyse_image(np.full((160, 160, 3), 128, dtype=np.uint8))
        from . import embedder

        embedder.embed([np.zeros((160, 160, 3), dtype=np.uint8)])
    except ModelUnavailable as exc:
        logger.warning("models not loaded: %s", exc)
