"""pgvector HNSW at scale: bulk load, index build, size, query latency and recall against an exact scan.

    .venv/bin/python bench/search.py                         # 100k and 300k, realistic and random vectors
    .venv/bin/python bench/search.py --sizes 100000,300000,1000000 --ef 40,64,100,200

Works in its own scratch table (bench_vectors) in the configured database, never in the faces table, and
drops it at the end. For each size and distribution: COPY time, HNSW build time (m=16, ef_construction=64,
as faceapp's migration), index size, then for each hnsw.ef_search the query p50/p95 (one client, ORDER BY
cosine distance LIMIT 10, the index walked as faceapp's search walks it) and recall@1/@10 against exact
numpy results. With --halfvec, the same with a halfvec(512) expression index.

"realistic" vectors are real FaceNet embeddings of lfw-dev photos plus Gaussian noise (identities that look
alike cluster as real galleries do); "random" are uniform unit vectors (the easy, spread-out case).
Queries are fresh noisy copies of the real embeddings (or fresh random vectors).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from _common import DATA, percentile

DIM = 512


def real_embeddings(limit: int | None = None) -> np.ndarray:
    from tqdm import tqdm

    from recognition import pipeline

    vectors = []
    photos = sorted((DATA / "lfw-dev").glob("*/*.jpg"))[:limit]
    for photo in tqdm(photos, desc="embedding lfw-dev", unit="photo"):
        face = pipeline.analyse_bytes(photo.read_bytes()).largest_face()
        if face is not None:
            vectors.append(face.embedding)
    return np.stack(vectors).astype(np.float32)


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def make_vectors(kind: str, n: int, base: np.ndarray, rng) -> np.ndarray:
    if kind == "random":
        return unit(rng.standard_normal((n, DIM)).astype(np.float32))
    # Each synthetic identity: a real embedding moved by noise of about the spread between photos of one person.
    picks = base[rng.integers(0, len(base), n)]
    return unit(picks + rng.standard_normal((n, DIM)).astype(np.float32) * 0.035)


def exact_top(data: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    result = []
    for start in range(0, len(queries), 50):
        scores = queries[start : start + 50] @ data.T
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        result.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(result)


def bench_one(cursor, data: np.ndarray, queries: np.ndarray, efs: list[int], halfvec: bool) -> list[dict]:
    from pgvector.psycopg import register_vector

    register_vector(cursor.connection)
    cursor = cursor.connection.cursor()  # a cursor made after the registration knows the vector type
    cursor.execute("DROP TABLE IF EXISTS bench_vectors")
    cursor.execute(f"CREATE UNLOGGED TABLE bench_vectors (id integer PRIMARY KEY, embedding vector({DIM}))")
    started = time.perf_counter()
    with cursor.copy("COPY bench_vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", "vector"])
        for i, row in enumerate(data):
            copy.write_row((i, row))
    load_s = time.perf_counter() - started
    cursor.execute("SET maintenance_work_mem = '4GB'")
    cursor.execute("SET max_parallel_maintenance_workers = 2")
    column = f"(embedding::halfvec({DIM}))" if halfvec else "embedding"
    opclass = "halfvec_cosine_ops" if halfvec else "vector_cosine_ops"
    started = time.perf_counter()
    cursor.execute(f"CREATE INDEX bench_vectors_hnsw ON bench_vectors USING hnsw ({column} {opclass}) WITH (m = 16, ef_construction = 64)")
    build_s = time.perf_counter() - started
    cursor.execute("SELECT pg_relation_size('bench_vectors_hnsw'), pg_total_relation_size('bench_vectors')")
    index_bytes, table_bytes = cursor.fetchone()
    cursor.execute("ANALYZE bench_vectors")

    truth = exact_top(data, queries, 10)
    cast = f"::halfvec({DIM})" if halfvec else ""
    query = f"SELECT id FROM bench_vectors ORDER BY {column} <=> %s{cast} LIMIT 10"
    rows = []
    for ef in efs:
        cursor.execute("SET hnsw.ef_search = %s", [ef])
        cursor.execute("SET hnsw.iterative_scan = strict_order")
        for q in queries[:10]:
            cursor.execute(query, (q,))  # warm the index pages
            cursor.fetchall()
        latencies, hit1, hit10 = [], 0, 0
        for q, expected in zip(queries, truth):
            started = time.perf_counter()
            cursor.execute(query, (q,))
            got = [r[0] for r in cursor.fetchall()]
            latencies.append((time.perf_counter() - started) * 1000)
            hit1 += bool(got) and got[0] == expected[0]
            hit10 += len(set(got) & set(expected.tolist()))
        rows.append({
            "ef": ef, "p50": percentile(latencies, 50), "p95": percentile(latencies, 95),
            "recall1": hit1 / len(queries), "recall10": hit10 / (10 * len(queries)),
            "load_s": load_s, "build_s": build_s, "index_mb": index_bytes / 2**20, "table_mb": table_bytes / 2**20,
        })
    cursor.execute("DROP TABLE bench_vectors")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000", help="vectors per run, comma-separated (default 100000,300000)")
    parser.add_argument("--kinds", default="realistic,random", help="realistic and/or random (default both)")
    parser.add_argument("--ef", default="40,64,100,200", help="hnsw.ef_search values (default 40,64,100,200)")
    parser.add_argument("--queries", type=int, default=200, help="queries per setting (default 200)")
    parser.add_argument("--halfvec", action="store_true", help="also measure a halfvec(512) index")
    parser.add_argument("--halfvec-only", action="store_true", help="measure only the halfvec(512) index")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    rng = np.random.default_rng(args.seed)
    kinds = args.kinds.split(",")
    base = real_embeddings() if "realistic" in kinds else None
    efs = [int(e) for e in args.ef.split(",")]
    print(f"\n{'N':>9} {'vectors':<10}{'storage':<8}{'COPY s':>8}{'build s':>9}{'index MB':>9}{'ef':>5}{'p50 ms':>8}{'p95 ms':>8}{'recall@1':>9}{'recall@10':>10}", flush=True)
    for size in (int(s) for s in args.sizes.split(",")):
        for kind in kinds:
            data = make_vectors(kind, size, base, rng)
            queries = make_vectors(kind, args.queries, base, rng)
            storages = [True] if args.halfvec_only else ([False, True] if args.halfvec else [False])
            for halfvec in storages:
                with connection.cursor() as cursor:
                    rows = bench_one(cursor.cursor, data, queries, efs, halfvec)
                for row in rows:
                    print(f"{size:>9,} {kind:<10}{'halfvec' if halfvec else 'vector':<8}{row['load_s']:>8.1f}{row['build_s']:>9.1f}"
                          f"{row['index_mb']:>9.0f}{row['ef']:>5}{row['p50']:>8.2f}{row['p95']:>8.2f}{row['recall1']:>9.3f}{row['recall10']:>10.3f}", flush=True)
            del data


if __name__ == "__main__":
    main()
