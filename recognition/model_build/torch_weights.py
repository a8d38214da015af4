"""Read PyTorch ``state_dict`` files into numpy arrays without torch.

``torch.save`` files are pickles; loading them with plain ``pickle`` would run whatever code
the file names. This module uses a restricted unpickler that resolves only the handful of
globals a plain state dict of tensors needs (``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2``, ``torch._utils._rebuild_parameter`` and the typed
storage classes such as ``torch.FloatStorage``) to inert local stand-ins. Any other global
(``os.system``, ``builtins.eval``, ...) is refused with :class:`DisallowedPickleError`
before anything is called.

Both on-disk layouts are understood:

* the zip layout (torch >= 1.6): ``<root>/data.pkl`` plus one raw file per storage under
  ``<root>/data/<key>``;
* the legacy layout (what facenet-pytorch 2.6.0 ships): five pickles in a row (magic number,
  protocol version, system info, the object, the storage keys) followed by the raw storages,
  each preceded by its element count as a little-endian int64.

Tensors are rebuilt from storage, storage offset, size and stride (so views and
non-contiguous tensors come out right) and returned as C-contiguous copies. Floating point
tensors are returned as float32; integer and bool tensors keep their dtype.
"""
from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["DisallowedPickleError", "TorchWeightsError", "load_state_dict"]

_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001


class TorchWeightsError(ValueError):
    """The file is not a state dict this reader understands."""


class DisallowedPickleError(TorchWeightsError, pickle.UnpicklingError):
    """The pickle references a global (or persistent id) that is not on the allow-list."""


# storage class name -> numpy dtype of one element (little-endian; byte order fixed up later)
_STORAGE_DTYPES: dict[str, np.dtype] = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


@dataclass(frozen=True)
class _StorageType:
    """Stand-in for ``torch.<X>Storage`` classes: only carries the element dtype."""

    name: str
    dtype: np.dtype


@dataclass
class _Storage:
    """A storage named in the pickle; its bytes are attached after unpickling."""

    key: str
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None  # 1-D, dtype `dtype`, length `numel`


@dataclass
class _StorageView:
    """Legacy format only: a slice of a root storage (``view_metadata``)."""

    root: _Storage
    offset: int
    numel: int


@dataclass
class _TensorRef:
    storage: _Storage | _StorageView
    storage_offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]
    extra: dict = field(default_factory=dict)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    if not isinstance(storage, (_Storage, _StorageView)):
        raise TorchWeightsError("_rebuild_tensor_v2 called without a storage")
    if not isinstance(storage_offset, int) or storage_offset < 0:
        raise TorchWeightsError(f"bad storage offset {storage_offset!r}")
    size = tuple(size)
    stride = tuple(stride)
    if len(size) != len(stride) or not all(isinstance(v, int) and v >= 0 for v in size + stride):
        raise TorchWeightsError(f"bad tensor geometry size={size!r} stride={stride!r}")
    return _TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None):
    if not isinstance(data, _TensorRef):
        raise TorchWeightsError("_rebuild_parameter called without a tensor")
    return data


_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class _RestrictedUnpickler(pickle.Unpickler):
    """Resolves only allow-listed globals; storages come back as :class:`_Storage` records."""

    def __init__(self, file, *, legacy: bool, storages: dict[str, _Storage]):
        super().__init__(file)
        self._legacy = legacy
        self._storages = storages

    def find_class(self, module, name):
        obj = _ALLOWED_GLOBALS.get((module, name))
        if obj is not None:
            return obj
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name, _STORAGE_DTYPES[name])
        raise DisallowedPickleError(
            f"refusing to load global {module}.{name}: only plain tensor state dicts are "
            f"accepted (allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, "
            f"torch._utils._rebuild_parameter, torch.<Type>Storage)"
        )

    def persistent_load(self, pid):
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise DisallowedPickleError(f"unsupported persistent id {pid!r:.80}")
        if self._legacy:
            if len(pid) != 6:
                raise TorchWeightsError(f"bad legacy storage id {pid!r:.80}")
            _, storage_type, key, _location, numel, view_metadata = pid
        else:
            if len(pid) != 5:
                raise TorchWeightsError(f"bad storage id {pid!r:.80}")
            _, storage_type, key, _location, numel = pid
            view_metadata = None
        if not isinstance(storage_type, _StorageType):
            raise DisallowedPickleError(f"storage of unsupported type {storage_type!r:.80}")
        if isinstance(key, bytes):
            key = key.decode("ascii")
        if not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise TorchWeightsError(f"bad storage id {pid!r:.80}")
        storage = self._storages.get(key)
        if storage is None:
            storage = self._storages[key] = _Storage(key, storage_type.dtype, numel)
        elif storage.dtype != storage_type.dtype or storage.numel != numel:
            raise TorchWeightsError(f"storage {key} is declared twice with different types")
        if view_metadata is None:
            return storage
        view_key, offset, view_numel = view_metadata
        if not (isinstance(offset, int) and isinstance(view_numel, int)
                and 0 <= offset and offset + view_numel <= numel):
            raise TorchWeightsError(f"bad storage view {view_metadata!r:.80}")
        return _StorageView(storage, offset, view_numel)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a ``torch.save``-d state dict (name -> tensor) into numpy arrays, without torch.

    Raises :class:`DisallowedPickleError` when the pickle references anything but the
    allow-listed globals, :class:`TorchWeightsError` for any other malformed input.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        head = fh.read(4)
    if zipfile.is_zipfile(path) and head.startswith(b"PK"):
        obj, storages = _load_zip(path)
    else:
        obj, storages = _load_legacy(path)
    return _to_arrays(obj, storages, path)


def _load_zip(path: Path):
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        pkl_names = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl_names) != 1:
            raise TorchWeightsError(f"{path.name}: expected one data.pkl in the archive, found {len(pkl_names)}")
        pkl_name = pkl_names[0]
        root = pkl_name[: -len("data.pkl")]
        big_endian = False
        if f"{root}byteorder" in names:
            byteorder = zf.read(f"{root}byteorder").decode("ascii").strip()
            if byteorder not in ("little", "big"):
                raise TorchWeightsError(f"{path.name}: unknown byte order {byteorder!r}")
            big_endian = byteorder == "big"
        storages: dict[str, _Storage] = {}
        obj = _RestrictedUnpickler(io.BytesIO(zf.read(pkl_name)), legacy=False, storages=storages).load()
        for key, storage in storages.items():
            member = f"{root}data/{key}"
            if member not in names:
                raise TorchWeightsError(f"{path.name}: storage file {member} is missing")
            raw = zf.read(member)
            storage.data = _decode_storage(raw, storage, big_endian, path)
    return obj, storages


def _load_legacy(path: Path):
    with open(path, "rb") as fh:
        def plain_load():
            # The header pickles and the key list hold no globals: refuse any.
            return _RestrictedUnpickler(fh, legacy=True, storages={}).load()

        try:
            magic = plain_load()
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            if isinstance(exc, DisallowedPickleError):
                raise
            raise TorchWeightsError(f"{path.name}: not a torch checkpoint ({exc})") from exc
        if magic != _LEGACY_MAGIC_NUMBER:
            raise TorchWeightsError(f"{path.name}: not a torch checkpoint (bad magic number)")
        protocol = plain_load()
        if protocol != _LEGACY_PROTOCOL_VERSION:
            raise TorchWeightsError(f"{path.name}: unsupported legacy protocol {protocol!r}")
        sys_info = plain_load()
        if not isinstance(sys_info, dict):
            raise TorchWeightsError(f"{path.name}: bad legacy header")
        big_endian = not sys_info.get("little_endian", True)
        storages: dict[str, _Storage] = {}
        obj = _RestrictedUnpickler(fh, legacy=True, storages=storages).load()
        keys = plain_load()
        if not isinstance(keys, list):
            raise TorchWeightsError(f"{path.name}: bad storage key list")
        for key in keys:
            storage = storages.get(key)
            if storage is None:
                raise TorchWeightsError(f"{path.name}: data for unknown storage {key!r}")
            count_bytes = fh.read(8)
            if len(count_bytes) != 8:
                raise TorchWeightsError(f"{path.name}: truncated file")
            (count,) = struct.unpack(">q" if big_endian else "<q", count_bytes)
            if count != storage.numel:
                raise TorchWeightsError(
                    f"{path.name}: storage {key} holds {count} elements, expected {storage.numel}")
            raw = fh.read(count * storage.dtype.itemsize)
            storage.data = _decode_storage(raw, storage, big_endian, path)
        missing = [k for k, s in storages.items() if s.data is None]
        if missing:
            raise TorchWeightsError(f"{path.name}: no data for storages {missing}")
    return obj, storages


def _decode_storage(raw: bytes, storage: _Storage, big_endian: bool, path: Path) -> np.ndarray:
    dtype = storage.dtype.newbyteorder(">") if big_endian else storage.dtype
    if len(raw) != storage.numel * dtype.itemsize:
        raise TorchWeightsError(
            f"{path.name}: storage {storage.key} has {len(raw)} bytes, expected "
            f"{storage.numel * dtype.itemsize}")
    return np.frombuffer(raw, dtype=dtype).astype(storage.dtype.newbyteorder("="), copy=True)


def _materialize(ref: _TensorRef, name: str, path: Path) -> np.ndarray:
    storage = ref.storage
    base_offset = 0
    if isinstance(storage, _StorageView):
        base_offset, limit, root = storage.offset, storage.numel, storage.root
    else:
        limit, root = storage.numel, storage
    data = root.data
    if data is None:
        raise TorchWeightsError(f"{path.name}: no data for tensor {name}")
    numel = int(np.prod(ref.size, dtype=np.int64))
    if numel:
        last = ref.storage_offset + sum((n - 1) * s for n, s in zip(ref.size, ref.stride))
        if last >= limit:
            raise TorchWeightsError(f"{path.name}: tensor {name} reaches past its storage")
        start = base_offset + ref.storage_offset
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[start:], shape=ref.size, strides=tuple(s * itemsize for s in ref.stride),
            writeable=False)
        out = np.array(view, copy=True, order="C")
    else:
        out = np.zeros(ref.size, dtype=data.dtype)
    if out.dtype.kind == "f":
        out = out.astype(np.float32, copy=False)
    return out


def _to_arrays(obj, storages: dict[str, _Storage], path: Path) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict):
        raise TorchWeightsError(f"{path.name}: expected a state dict, got {type(obj).__name__}")
    result: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if not isinstance(name, str) or not isinstance(value, _TensorRef):
            raise TorchWeightsError(f"{path.name}: entry {name!r} is not a tensor")
        result[name] = _materialize(value, name, path)
    return result
