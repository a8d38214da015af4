"""The torch-free MTCNN converter: facenet-pytorch .pt weights -> three ONNX models."""
from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

import onnx  # a pinned build package (requirements-build.txt): missing is a broken install, not a skip
import onnxruntime as ort

from recognition.model_build import mtcnn_onnx
from recognition.model_build.torch_weights import (
    DisallowedPickleError,
    load_state_dict,
)


def _weight_files():
    try:
        return mtcnn_onnx.mtcnn_weight_files()
    except FileNotFoundError as exc:
        pytest.fail(f"facenet-pytorch (pinned in requirements-build-nodeps.txt) is not installed: {exc}")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    _weight_files()
    out = tmp_path_factory.mktemp("mtcnn")
    return mtcnn_onnx.build_mtcnn(out)


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _run(path, x):
    sess = _session(path)
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {"input": x})))


def test_builds_three_checked_models(built):
    assert set(built) == {"mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"}
    for name, path in built.items():
        assert path.name == f"{name}.onnx" and path.is_file()
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
        assert [i.name for i in model.graph.input] == ["input"]


def test_pnet_shapes_and_softmax(built):
    rng = np.random.default_rng(0)
    # odd sizes exercise MaxPool(ceil_mode=True): 37x51 -> conv 35x49 -> pool 18x25 -> 16x23 -> 14x21
    x = rng.standard_normal((2, 3, 37, 51), dtype=np.float32)
    out = _run(built["mtcnn_pnet"], x)
    assert list(out) == ["reg", "prob"]
    assert out["reg"].shape == (2, 4, 14, 21)
    assert out["prob"].shape == (2, 2, 14, 21)
    np.testing.assert_allclose(out["prob"].sum(axis=1), 1.0, atol=1e-5)
    assert (out["prob"] >= 0).all()
    # smallest pyramid level: 12x12 -> one cell
    out = _run(built["mtcnn_pnet"], rng.standard_normal((1, 3, 12, 12), dtype=np.float32))
    assert out["reg"].shape == (1, 4, 1, 1) and out["prob"].shape == (1, 2, 1, 1)


def test_rnet_shapes(built):
    x = np.random.default_rng(1).standard_normal((5, 3, 24, 24), dtype=np.float32)
    out = _run(built["mtcnn_rnet"], x)
    assert list(out) == ["reg", "prob"]
    assert out["reg"].shape == (5, 4)
    assert out["prob"].shape == (5, 2)
    np.testing.assert_allclose(out["prob"].sum(axis=1), 1.0, atol=1e-5)


def test_onet_shapes(built):
    x = np.random.default_rng(2).standard_normal((3, 3, 48, 48), dtype=np.float32)
    out = _run(built["mtcnn_onet"], x)
    assert list(out) == ["reg", "landmarks", "prob"]
    assert out["reg"].shape == (3, 4)
    assert out["landmarks"].shape == (3, 10)
    assert out["prob"].shape == (3, 2)
    np.testing.assert_allclose(out["prob"].sum(axis=1), 1.0, atol=1e-5)


def test_build_is_deterministic(built, tmp_path):
    again = mtcnn_onnx.build_mtcnn(tmp_path)
    for name, path in built.items():
        assert again[name].read_bytes() == path.read_bytes(), name


def test_weight_files_load_as_float32_state_dicts():
    files = _weight_files()
    sd = load_state_dict(files["mtcnn_rnet"])
    assert sd["conv1.weight"].shape == (28, 3, 3, 3)
    assert sd["dense4.weight"].shape == (128, 576)
    assert all(v.dtype == np.float32 and v.flags.c_contiguous for v in sd.values())


# --- the restricted unpickler ---------------------------------------------------------------

class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def _zip_checkpoint(path, payload: bytes, extra: dict[str, bytes] | None = None):
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("archive/data.pkl", payload)
        for name, data in (extra or {}).items():
            zf.writestr(f"archive/{name}", data)


def test_refuses_disallowed_global(tmp_path, monkeypatch):
    # {"conv1.weight": os.system("echo pwned")} as protocol-2 opcodes; plain pickle would call it.
    cmd = b"echo pwned"
    payload = (b"\x80\x02}X\x0c\x00\x00\x00conv1.weight" + b"cos\nsystem\n"
               + b"X" + len(cmd).to_bytes(4, "little") + cmd + b"\x85Rs.")
    path = tmp_path / "evil.pt"
    _zip_checkpoint(path, payload)

    import os

    called = []
    monkeypatch.setattr(os, "system", lambda *a: called.append(a) or 0)
    assert pickle.loads(payload) == {"conv1.weight": 0} and called == [(cmd.decode(),)]  # the canary works
    called.clear()

    with pytest.raises(DisallowedPickleError, match=r"os\.system"):
        load_state_dict(path)
    assert called == []


def test_refuses_disallowed_global_in_legacy_file(tmp_path):
    buf = io.BytesIO()
    for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(obj, buf, protocol=2)
    buf.write(pickle.dumps({"w": _Evil()}, protocol=2))
    path = tmp_path / "evil_legacy.pt"
    path.write_bytes(buf.getvalue())
    with pytest.raises(DisallowedPickleError):
        load_state_dict(path)


def test_reads_zip_checkpoint_with_offset_and_stride(tmp_path):
    """A hand-made torch>=1.6 zip checkpoint: a transposed view at a storage offset."""

    # Protocol-2 pickle written opcode by opcode, as torch.save would (GLOBAL torch names).
    storage = np.arange(20, dtype="<f4")
    rebuild = b"ctorch._utils\n_rebuild_tensor_v2\n"
    ordered = b"ccollections\nOrderedDict\n"
    float_storage = b"ctorch\nFloatStorage\n"

    def tup(*items: bytes) -> bytes:
        return b"(" + b"".join(items) + b"t"

    def intb(v: int) -> bytes:
        return b"K" + bytes([v])

    def strb(s: str) -> bytes:
        e = s.encode()
        return b"X" + len(e).to_bytes(4, "little") + e

    pid = tup(strb("storage"), float_storage, strb("0"), strb("cpu"), intb(20)) + b"Q"
    # tensor of size (3, 2), stride (1, 3), offset 4 -> storage[4 + i + 3j]
    args = tup(pid, intb(4), tup(intb(3), intb(2)), tup(intb(1), intb(3)), b"\x89", ordered + b")R")
    payload = (b"\x80\x02" + ordered + b")R" + b"(" + strb("w") + rebuild + args + b"R" + b"u" + b".")
    path = tmp_path / "ok.pt"
    _zip_checkpoint(path, payload, {"data/0": storage.tobytes(), "byteorder": b"little"})

    sd = load_state_dict(path)
    expected = np.array([[4 + i + 3 * j for j in range(2)] for i in range(3)], dtype=np.float32)
    assert list(sd) == ["w"]
    np.testing.assert_array_equal(sd["w"], expected)
    assert sd["w"].dtype == np.float32
