"""Reading an uploaded image file within the size limit, before any of it is decoded."""
from django.conf import settings

from .exceptions import EmptyImage, ImageTooLarge


def read_upload(upload) -> bytes:
    limit = settings.FACEAPP_MAX_UPLOAD_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImageTooLarge(f"The image is {upload.size:,} bytes; the limit is {limit:,}.")
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImageTooLarge(f"The image is larger than the limit of {limit:,} bytes.")
    if not data:
        raise EmptyImage()
    return data
