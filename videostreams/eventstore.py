"""Writing an event's match, best shot (crop, thumbnail, full frame) and times: what processing stores."""
from __future__ import annotations

import datetime as dt
import logging

import cv2
from django.conf import settings
from django.core.files.base import ContentFile

from enrollment.images import encode_jpeg, make_thumbnail
from recognition import attributes as face_attributes

from .models import Event

logger = logging.getLogger(__name__)


def apply_match(event: Event, match) -> None:
    event.person = match.person if match else None
    event.similarity = round(match.similarity, 4) if match else None
    event.matched = match is not None


def apply_attributes(event: Event, shot, kinds) -> None:
    """The best shot's face attributes (those with an enabled model), once per best shot; never fails the event."""
    if not kinds:
        return
    try:
        rgb = cv2.cvtColor(shot.frame.image, cv2.COLOR_BGR2RGB)
        found = face_attributes.estimate_faces(rgb, [shot.face.detection], kinds, strict=False)[0]
    except Exception:
        logger.exception("could not estimate the attributes of event %s", event.id)
        return
    event.gender, event.gender_score = found.gender, found.gender_score
    event.age, event.emotion = found.age, found.emotion
    event.attributes = found.as_dict()


def apply_shot(event: Event, shot, attribute_kinds=()) -> list[str]:
    """Put the shot's (processing.Shot: face, frame, score) crop, thumbnail, full frame, metadata and attributes on
    the event (files written now)."""
    apply_attributes(event, shot, attribute_kinds)
    face = shot.face
    x1, y1, x2, y2 = face.detection.box
    event.box = {"x": int(round(x1)), "y": int(round(y1)), "width": int(round(x2 - x1)), "height": int(round(y2 - y1))}
    event.quality = shot.score
    event.quality_details = face.quality.as_dict()
    event.frame_height, event.frame_width = shot.frame.image.shape[:2]
    event.embedding = face.embedding.tolist()
    crop_jpeg = encode_jpeg(face.crop, quality=90)
    ok, frame_jpeg = cv2.imencode(".jpg", shot.frame.image, [cv2.IMWRITE_JPEG_QUALITY, settings.FACEAPP_EVENT_FRAME_JPEG_QUALITY])
    if not ok:
        raise RuntimeError("could not encode the frame as JPEG")
    written = []
    name = f"{event.id}-{shot.frame.index}.jpg"
    event.crop.save(name, ContentFile(crop_jpeg), save=False)
    written.append(event.crop.name)
    event.thumbnail.save(name, ContentFile(make_thumbnail(crop_jpeg)), save=False)
    written.append(event.thumbnail.name)
    event.frame.save(name, ContentFile(frame_jpeg.tobytes()), save=False)
    written.append(event.frame.name)
    return written


def delete_files(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s", name)


def when(timestamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc)
