"""The engine's service for the integrator API: detect. The gallery calls (verify, identify) are enrollment's."""
from __future__ import annotations

from . import pipeline


def detect(image: bytes, *, min_face_size=None, detection_threshold=None, max_faces=None, embedding=False,
           attributes=()) -> pipeline.Analysis:
    """Every face of the photo, largest first; embeddings and attributes are computed only when asked for."""
    return pipeline.analyse_bytes(
        image, min_face_size=min_face_size, detection_threshold=detection_threshold, max_faces=max_faces, with_embeddings=embedding,
        attributes=attributes,
    )
