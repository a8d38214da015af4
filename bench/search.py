"""pgvector HNSW at scale, in the shape faceapp searches: load, index build, size, latency and recall vs an exact scan.

    .venv/bin/python bench/search.py                                   # 100k realistic faces, faceapp's index
    .venv/bin/python bench/search.py --sizes 1000000 --indexes faceapp,faceapp-halfvec --ef 40,100,200
    .venv/bin/python bench/search.py --sizes 300000 --indexes padded512,faceapp --data crowded  # the old design/data

Works in its own scratch table (bench_faces: id, embedding vector(512), embedding_model_name) in the configured
database, never in the faces table, and drops it at the end. For each size, data set and index: COPY time, HNSW
build time, index size; then for each hnsw.ef_search the p50/p95 of a top-10 query (one client) with recall@1 and
recall@10 against exact numpy results, and the p50/p95 of the 300-row query faceapp makes when it normalises scores
(AS-norm needs the probe's top 100 people). Queries are filtered on the model name and walked with iterative scans,
as `enrollment.vectors.nearest_rows` does.

Data sets (128-d FaceNet MS-Celeb-1M vectors padded to 512, as faceapp stores them):
- `identities` (default): a realistic gallery of many people. `bench/identities.py` fits a two-level Gaussian model
  of identities on lfw-dev's embeddings (identity centres, and photos around them); the gallery holds N faces of
  N/2 people (1 to 3 photos each), the queries are new photos of enrolled people. Its different-person scores have
  a lighter tail than real ones (bench/identities.py prints both), so it is slightly easier than real photos.
- `crowded`: the earlier, pessimistic set: real lfw-dev embeddings plus noise, i.e. a million vectors around 1,921
  identities (~520 near-copies each), queries fresh noisy copies.

Indexes:
- `faceapp`: what faceapp's migration builds: a partial index per model over the model's own dimensions,
  `(subvector(embedding, 1, 128)::vector(128)) vector_cosine_ops WHERE embedding_model_name = 'facenet_ms1m'`.
- `faceapp-halfvec`: the same over `::halfvec(128)` (half the index size).
- `padded512`: one index over the whole padded 512-wide column (the design before per-model indexes).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from _common import DATA, ROOT, percentile

STORED = 512
DIM = 128
MODEL = "facenet_ms1m"
NORMALISED_ROWS = 300  # enrollment.cohort.ROWS_PER_K × the shipped K

INDEXES = {
    "faceapp": (f"((subvector(embedding, 1, {DIM}))::vector({DIM}))", "vector_cosine_ops", f"::vector({DIM})", True),
    "faceapp-halfvec": (f"((subvector(embedding, 1, {DIM}))::halfvec({DIM}))", "halfvec_cosine_ops", f"::vector({DIM})::halfvec({DIM})", True),
    "padded512": ("embedding", "vector_cosine_ops", "", False),
}


def lfw_vectors() -> list[np.ndarray]:
    """lfw-dev's FaceNet MS-Celeb-1M vectors grouped by person (bench/embedders.py's cache, made if missing)."""
    from embedders import embed_dataset

    dataset = embed_dataset(DATA / "lfw-dev", ["facenet-ms1m+flip"], ROOT / "var" / "bench")["facenet-ms1m+flip"]
    return [np.array(dataset.faces_of(i))[:, :DIM] for i in range(len(dataset.people)) if dataset.faces_of(i)]


def make_data(kind: str, size: int, queries: int, groups: list[np.ndarray], rng) -> tuple[np.ndarray, np.ndarray]:
    """(gallery, queries) as unit vectors of DIM values."""
    if kind == "identities":
        import identities

        model = identities.fit(groups, DIM)
        centres = model.people(size // 2, rng)
        photos = rng.integers(1, 4, len(centres))  # 1 to 3 photos each: about 2 on average
        owner = np.repeat(np.arange(len(centres)), photos)[:size]
        gallery = np.concatenate([model.photos(centres[owner[i:i + 200_000]], rng) for i in range(0, len(owner), 200_000)])
        if len(gallery) < size:  # top up with one more photo of random people
            gallery = np.concatenate([gallery, model.photos(centres[rng.integers(0, len(centres), size - len(gallery))], rng)])
        probes = model.photos(centres[owner[rng.integers(0, len(owner), queries)]], rng)
        return gallery.astype(np.float32), probes.astype(np.float32)
    base = np.concatenate(groups).astype(np.float32)

    def noisy(n):
        picks = base[rng.integers(0, len(base), n)] + rng.standard_normal((n, DIM)).astype(np.float32) * 0.035
        return picks / np.linalg.norm(picks, axis=1, keepdims=True)

    return noisy(size), noisy(queries)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    result = []
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ data.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        result.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(result)


def load(cursor, data: np.ndarray) -> float:
    cursor.execute("DROP TABLE IF EXISTS bench_faces")
    cursor.execute(f"CREATE UNLOGGED TABLE bench_faces (id integer PRIMARY KEY, embedding vector({STORED}), "
                   "embedding_model_name varchar(64))")
    padded = np.zeros((len(data), STORED), dtype=np.float32)
    padded[:, :DIM] = data
    started = time.perf_counter()
    with cursor.copy("COPY bench_faces (id, embedding, embedding_model_name) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector", "varchar"])
        for i, row in enumerate(padded):
            copy.write_row((i, row, MODEL))
    cursor.execute("ANALYZE bench_faces")
    return time.perf_counter() - started


def build(cursor, index: str, m: int, ef_construction: int) -> tuple[float, int]:
    expression, opclass, _, partial = INDEXES[index]
    cursor.execute("DROP INDEX IF EXISTS bench_faces_hnsw")
    cursor.execute("SET maintenance_work_mem = '4GB'")
    cursor.execute("SET max_parallel_maintenance_workers = 2")
    where = f" WHERE embedding_model_name = '{MODEL}'" if partial else ""
    started = time.perf_counter()
    cursor.execute(f"CREATE INDEX bench_faces_hnsw ON bench_faces USING hnsw ({expression} {opclass}) "
                   f"WITH (m = {m}, ef_construction = {ef_construction}){where}")
    seconds = time.perf_counter() - started
    cursor.execute("SELECT pg_relation_size('bench_faces_hnsw')")
    return seconds, cursor.fetchone()[0]


def measure(cursor, index: str, queries: np.ndarray, truth: np.ndarray, ef: int) -> dict:
    expression, _, cast, _ = INDEXES[index]
    sql = (f"SELECT id, {expression} <=> %s{cast} AS distance FROM bench_faces WHERE embedding_model_name = '{MODEL}' "
           f"ORDER BY distance LIMIT %s")
    padded = np.zeros((len(queries), STORED), dtype=np.float32)
    padded[:, :DIM] = queries
    vectors = queries if cast else padded  # the faceapp expressions compare DIM values, the padded index all 512
    cursor.execute("SET hnsw.iterative_scan = relaxed_order")  # as enrollment.vectors.nearest_rows: sorted here

    def run(limit: int) -> list[float]:
        cursor.execute("SET hnsw.ef_search = %s", [max(ef, limit)])
        for q in vectors[:10]:  # warm the index pages
            cursor.execute(sql, (q, limit))
            cursor.fetchall()
        latencies, results = [], []
        for q in vectors:
            started = time.perf_counter()
            cursor.execute(sql, (q, limit))
            results.append([r[0] for r in sorted(cursor.fetchall(), key=lambda r: r[1])])
            latencies.append((time.perf_counter() - started) * 1000)
        return latencies, results

    top10, found = run(10)
    wide, _ = run(NORMALISED_ROWS)
    hit1 = sum(bool(got) and got[0] == expected[0] for got, expected in zip(found, truth))
    hit10 = sum(len(set(got) & set(expected.tolist())) for got, expected in zip(found, truth))
    return {"ef": ef, "p50": percentile(top10, 50), "p95": percentile(top10, 95), "recall1": hit1 / len(truth),
            "recall10": hit10 / (10 * len(truth)), "wide_p50": percentile(wide, 50), "wide_p95": percentile(wide, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000", help="faces per run, comma-separated (default 100000)")
    parser.add_argument("--data", default="identities", help="identities and/or crowded (default identities)")
    parser.add_argument("--indexes", default="faceapp", help=f"comma-separated, of {', '.join(INDEXES)} (default faceapp)")
    parser.add_argument("--ef", default="40,100,200", help="hnsw.ef_search values (default 40,100,200)")
    parser.add_argument("--m", type=int, default=None, help="HNSW m (default: faceapp's, enrollment.vectors.HNSW_M)")
    parser.add_argument("--ef-construction", type=int, default=None, help="HNSW ef_construction (default: faceapp's)")
    parser.add_argument("--queries", type=int, default=300, help="queries per setting (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from pgvector.psycopg import register_vector

    from enrollment.vectors import HNSW_EF_CONSTRUCTION, HNSW_M

    m, efc = args.m or HNSW_M, args.ef_construction or HNSW_EF_CONSTRUCTION
    rng = np.random.default_rng(args.seed)
    groups = lfw_vectors()
    efs = [int(e) for e in args.ef.split(",")]
    print(f"HNSW m={m}, ef_construction={efc}; {args.queries} queries; top-10 recall vs exact; "
          f"'300 rows': the query faceapp makes when it normalises scores")
    print("| N | data | index | COPY s | build s | index MB | ef_search | p50 ms | p95 ms | recall@1 | recall@10 | 300 rows p50 / p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in args.data.split(","):
            data, queries = make_data(kind, size, args.queries, groups, rng)
            truth = exact_top(data, queries, 10)
            with connection.cursor() as django_cursor:
                register_vector(django_cursor.connection)
                cursor = django_cursor.connection.cursor()  # a cursor made after the registration knows the vector type
                load_s = load(cursor, data)
                for index in args.indexes.split(","):
                    build_s, index_bytes = build(cursor, index, m, efc)
                    for ef in efs:
                        row = measure(cursor, index, queries, truth, ef)
                        print(f"| {size:,} | {kind} | {index} | {load_s:.1f} | {build_s:.1f} | {index_bytes / 2**20:,.0f} | {ef} | "
                              f"{row['p50']:.2f} | {row['p95']:.2f} | {row['recall1']:.3f} | {row['recall10']:.3f} | "
                              f"{row['wide_p50']:.1f} / {row['wide_p95']:.1f} |", flush=True)
                cursor.execute("DROP TABLE bench_faces")
            del data


if __name__ == "__main__":
    main()
