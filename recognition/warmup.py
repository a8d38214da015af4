"""Load the models and run them once, so that the first real request is not slow.

Raises ImproperlyConfigured when the configured embedder, or an attribute or liveness model, may not be used
(e.g. a non-commercial model without the opt-in), so that a server refuses to start rather than failing every request.
"""
import logging

import numpy as np

logger = logging.getLogger(__name__)


def warm_up() -> None:
    from django.core.exceptions import ImproperlyConfigured

    from . import attributes, embedders, pipeline
    from .exceptions import ModelUnavailable

    chosen = embedders.active()
    problems = attributes.configuration_problems()
    if problems:  # an attribute or liveness model whose licence needs an opt-in that was not given
        raise ImproperlyConfigured(" ".join(problems))
    try:
        pipeline.analyse_image(np.full((160, 160, 3), 128, dtype=np.uint8))
        chosen.embed([np.zeros((chosen.input_size, chosen.input_size, 3), dtype=np.uint8)])
        logger.info("models warmed up; embedder %s (%s)", chosen.name, embedders.model_id(chosen))
    except ModelUnavailable as exc:
        logger.warning("models not loaded: %s", exc)
