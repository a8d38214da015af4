import numpy as np, pytest
from django.db import connection
from enrollment import vectors
from enrollment.models import Face
from tests.enrollment.test_vectors import add_faces, padded_unit
pytestmark = pytest.mark.django_db

@pytest.mark.parametrize("seed", range(30))
def test_repro(seed):
    rng = np.random.default_rng(seed)
    doomed = add_faces("facenet_ms1m:aaaa", 60, rng)
    kept = add_faces("facenet_ms1m:aaaa", 10, rng)
    Face.objects.filter(id__in=[f.id for f in doomed]).delete()
    with connection.cursor() as c:
        c.execute("SET enable_seqscan = off")
    found = vectors.nearest_rows(Face.objects.all(), padded_unit(rng, 128), embedding_model="facenet_ms1m:aaaa", fields=("id",), limit=10, ef_search=10)
    assert len(found) == 10, len(found)
