"""Average-linkage clustering with cannot-link constraints, on the real embeddings of the committed photos."""
import numpy as np
import pytest

from recognition import clustering, pipeline
from tests.conftest import read_bytes

NAMES = ["obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face.jpg", "biden.jpg", "astronaut.jpg", "cameraman.jpg"]


@pytest.fixture(scope="module")
def faces(models_ready):
    return np.stack([pipeline.analyse_bytes(read_bytes("samples", n)).largest_face().embedding for n in NAMES])


def at(threshold):
    return lambda score: score >= threshold


def test_faces_of_one_person_cluster_together_and_strangers_apart(faces):
    clusters = clustering.average_linkage(faces, at(0.55))
    assert clusters[0] == [0, 1, 2, 3]  # Obama's four photos, largest first
    assert sorted(clusters[1:]) == [[4], [5], [6]]


def test_a_cannot_link_pair_is_never_in_one_cluster_and_the_constraint_spreads_through_merges(faces):
    clusters = clustering.average_linkage(faces, at(0.55), cannot_link=[(0, 2)])
    assert not any({0, 2} <= set(c) for c in clusters)
    assert sum(len(c) for c in clusters) == len(NAMES)


def test_initial_groups_start_merged_even_below_the_threshold(faces):
    clusters = clustering.average_linkage(faces, at(0.55), initial=[[4, 5]])
    assert [4, 5] in clusters and [0, 1, 2, 3] in clusters


def test_nothing_merges_when_nothing_is_accepted_and_empty_input_gives_no_cluster(faces):
    assert clustering.average_linkage(faces, at(1.5)) == [[i] for i in range(len(NAMES))]
    assert clustering.average_linkage(np.zeros((0, 4)), at(0.5)) == []


def test_average_linkage_resists_a_chain_through_one_ambiguous_face():
    # a, b close; c close to b only: single linkage would chain a-b-c, average linkage keeps c out at 0.7.
    a = np.array([1.0, 0.0, 0.0])
    b = np.array([0.9, 0.436, 0.0])
    c = np.array([0.6, 0.8, 0.0])
    vectors = np.stack([v / np.linalg.norm(v) for v in (a, b, c)])
    assert float(vectors[1] @ vectors[2]) > 0.85 and float(vectors[0] @ vectors[2]) < 0.7
    clusters = clustering.average_linkage(vectors, at(0.8))
    assert [2] in clusters or [0] in clusters


def overlapping_people(seed: int, people: int = 120, most: int = 10, spread: float = 1.1, d: int = 128) -> np.ndarray:
    """Faces around random centres, spread so that people overlap: blocks bigger than clusters, some giant."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    faces = [c + spread * rng.normal(size=(rng.integers(1, most + 1), d)) / np.sqrt(d) for c in centres]
    x = np.concatenate(faces)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def cluster_block_by_block(x, threshold, **kwargs):
    found = []
    for block in clustering.blocks(x, threshold, **kwargs):
        found += [sorted(block[i] for i in c) for c in clustering.average_linkage(x[block], at(threshold))]
    return sorted(map(tuple, found))


@pytest.mark.parametrize("seed, spread, threshold", [(1, 1.1, 0.3), (2, 1.3, 0.35), (3, 1.1, 0.3), (4, 1.3, 0.35)])
def test_clustering_block_by_block_gives_the_clusters_of_clustering_everything_at_once(seed, spread, threshold):
    x = overlapping_people(seed, spread=spread)
    blocks = clustering.blocks(x, threshold, max_elements=4096)  # slabs of a few rows: many slabs
    assert sorted(i for b in blocks for i in b) == list(range(len(x)))
    whole = sorted(map(tuple, clustering.average_linkage(x, at(threshold))))
    assert len(blocks) < len(whole) and max(map(len, blocks)) > 10  # blocks that hold several clusters
    assert cluster_block_by_block(x, threshold, max_elements=4096) == whole


def test_blocks_of_the_real_faces_and_groups_that_start_together(faces):
    assert sorted(map(sorted, clustering.blocks(faces, 0.55)))[0] == [0, 1, 2, 3]  # Obama's four, the rest alone
    assert sorted(len(b) for b in clustering.blocks(faces, 0.55)) == [1, 1, 1, 4]
    assert [4, 5] in [sorted(b) for b in clustering.blocks(faces, 0.55, together=[[4, 5]])]
    assert clustering.blocks(np.zeros((0, 4), dtype=np.float32), 0.5) == []
