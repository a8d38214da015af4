"""Helpers of the sighting tests: photos seen through the real identify path, kept as sightings."""
import io

from PIL import Image

from enrollment import identification
from tests.conftest import photo_path, read_bytes


def keep(name: str, *, image: bytes | None = None):
    """The sightings of every face of samples/<name> (or of `image`), kept through identify(keep_sighting=True)."""
    return identification.identify(image if image is not None else read_bytes("samples", name), keep_sighting=True).sightings


def keep_via_api(client, name: str):
    """The sighting of the largest face of samples/<name>, kept through POST /api/v1/identify (keep_sighting)."""
    from enrollment.models import Sighting
    from tests.conftest import upload

    response = client.post("/api/v1/identify", {"image": upload("samples", name), "keep_sighting": "true", "max_faces": 1},
                           format="multipart")
    assert response.status_code == 200, response.json()
    return Sighting.objects.get(pk=response.json()["faces"][0]["sighting"]["id"])


def side_by_side(name: str) -> bytes:
    """One photo holding the same face twice (samples/<name> next to itself)."""
    with Image.open(photo_path("samples", name)) as single:
        single = single.convert("RGB")
        double = Image.new("RGB", (single.width * 2, single.height))
        double.paste(single, (0, 0))
        double.paste(single, (single.width, 0))
    out = io.BytesIO()
    double.save(out, format="JPEG", quality=95)
    return out.getvalue()


def seen_in_past(name: str, *, ago, camera=None, camera_name: str = ""):
    """A real sighting of samples/<name> (identify, keep_sighting), moved `ago` (a timedelta) into the past and to a
    camera."""
    from django.utils import timezone

    from enrollment.models import Sighting

    sighting = keep(name)[0]
    Sighting.objects.filter(pk=sighting.pk).update(seen_at=timezone.now() - ago, camera_id=camera, camera_name=camera_name)
    return Sighting.objects.get(pk=sighting.pk)


def identity_state() -> dict:
    """Whose each sighting and face is, the groups, the people and what operators said (exclusions, pins): what an
    undo must put back exactly."""
    from enrollment.models import Face, Person, Sighting, SightingExclusion, UnknownGroup

    return {
        "sightings": set(Sighting.objects.values_list("id", "person_id", "unknown_group_id", "pinned")),
        "groups": set(UnknownGroup.objects.values_list("id", flat=True)),
        "people": set(Person.objects.values_list("id", "name")),
        "faces": set(Face.objects.values_list("id", "person_id")),
        "exclusions": set(SightingExclusion.objects.values_list("sighting_id", "person_id", "other_id")),
    }
