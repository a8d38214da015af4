"""One exception class per failure the API can report.

Each carries its HTTP status and a short machine `error_code`; `faceapp.api.exception_handler`
renders them into the one error envelope. Messages are safe to show to the client.
"""
from __future__ import annotations


class FaceAppError(Exception):
    status_code = 400
    error_code = "bad_request"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, **extra):
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)


class InvalidImage(FaceAppError):
    status_code = 415
    error_code = "invalid_image"
    default_message = "The upload is not an image in a supported format (JPEG, PNG, WebP, BMP)."


class EmptyImage(FaceAppError):
    status_code = 400
    error_code = "empty_image"
    default_message = "The image is empty."


class ImageTooLarge(FaceAppError):
    status_code = 413
    error_code = "image_too_large"
    default_message = "The image is too large."


class NoFaceDetected(FaceAppError):
    status_code = 400
    error_code = 601
    default_message = "No face detected in the image."


class FaceIndexOutOfRange(FaceAppError):
    status_code = 400
    error_code = "face_index_out_of_range"
    default_message = "face_index does not name a face of the photo."


class NoEnrolledFace(FaceAppError):
    status_code = 400
    error_code = "no_enrolled_face"
    default_message = "The person has no enrolled face to compare with."


class ModelUnavailable(FaceAppError):
    status_code = 503
    error_code = "model_unavailable"
    default_message = "The face models are not available; run `manage.py build_models`."


class NotFound(FaceAppError):
    status_code = 404
    error_code = "not_found"
    default_message = "Not found."


class PendingEnrollmentNotFound(NotFound):
    error_code = "req_id_not_found"
    default_message = "Unknown or expired req_id; recognise the face again to get a new one."


class Conflict(FaceAppError):
    status_code = 409
    error_code = "conflict"
    default_message = "The request conflicts with what is stored."


class EmailTaken(Conflict):
    error_code = "email_exists"
    default_message = "A person with this email is already enrolled."


class DuplicateFace(Conflict):
    error_code = "duplicate_face"
    default_message = "This face already matches an enrolled person."


class ExternalIdTaken(Conflict):
    error_code = "external_id_exists"
    default_message = "A person with this external_id is already enrolled."


class WatchlistNameTaken(Conflict):
    error_code = "watchlist_exists"
    default_message = "A watchlist with this name already exists."


class AttributeUnavailable(FaceAppError):
    status_code = 400
    error_code = "attribute_unavailable"
    default_message = "The requested face attribute has no model configured on this server."


class LivenessUnavailable(FaceAppError):
    status_code = 400
    error_code = "liveness_unavailable"
    default_message = "Liveness checks are not enabled on this server (FACEAPP_LIVENESS_MODEL)."


class NotLive(FaceAppError):
    status_code = 400
    error_code = "liveness_failed"
    default_message = "The face did not pass the liveness check."
