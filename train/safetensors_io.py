"""safetensors container, read and written with numpy + struct (no `safetensors` package).

Layout (docs/model-format.md, "Container"):

    bytes 0..8        u64 little-endian N = length of the JSON header
    bytes 8..8+N      JSON header, may end in spaces
    bytes 8+N..end    data area; each tensor at data_offsets [BEGIN, END) relative to it

This file knows nothing about models: it checks the container rules of the spec and returns
numpy arrays. train/model_file.py checks the inforcoef-specific rules on top.
Every problem raises SafetensorsError with a message that names it.
"""
import json
import struct

import numpy as np

MAX_HEADER = 100_000_000
DTYPES = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "I8": np.dtype("i1"),
          "U8": np.dtype("u1")}           # U8: packed 4-bit embedding tables (train/model_file.py)
ALIGN = {"F32": 4, "F16": 2, "I8": 1, "U8": 1}     # required alignment of BEGIN inside the data area
# Other safetensors writers (e.g. Hugging Face checkpoints) use more dtypes; read_any() accepts
# these, converting BF16 to float32 (numpy has no bfloat16). Model files use DTYPES only.
ANY_DTYPES = dict(DTYPES, F64=np.dtype("<f8"), BF16=np.dtype("<u2"), I64=np.dtype("<i8"),
                  I32=np.dtype("<i4"), I16=np.dtype("<i2"), U8=np.dtype("u1"), BOOL=np.dtype("?"))
WRITE_ALIGN = 8                            # what the writer uses for every tensor


class SafetensorsError(ValueError):
    pass


def dtype_name(arr):
    """The safetensors dtype of a numpy array (BF16 cannot be written: numpy has none)."""
    for name, dt in ANY_DTYPES.items():
        if name != "BF16" and (arr.dtype == dt or arr.dtype == dt.newbyteorder("=")):
            return name
    raise SafetensorsError(f"unsupported numpy dtype {arr.dtype}")


def encode(tensors, metadata=None):
    """Serialise {name: numpy array} (+ optional str->str metadata) into bytes.

    Tensors are laid out in the given order, each BEGIN a multiple of 8; the header is padded
    with spaces so the data area itself starts at a multiple of 8 in the file."""
    header = {}
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError(f"__metadata__ must map str to str (key {k!r})")
        header["__metadata__"] = dict(metadata)
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        if name == "__metadata__":
            raise SafetensorsError("a tensor cannot be called __metadata__")
        dt = dtype_name(arr)
        raw = np.ascontiguousarray(arr, dtype=ANY_DTYPES[dt]).tobytes()
        pad = (-offset) % WRITE_ALIGN
        if pad:
            blobs.append(b"\0" * pad)
            offset += pad
        header[name] = {"dtype": dt, "shape": [int(s) for s in arr.shape],
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    return encode_header(header) + b"".join(blobs)


def encode_header(header):
    """The u64 length prefix and the header as compact JSON, padded with spaces so that the data
    area after it starts at a multiple of 8 in the file."""
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((-(8 + len(text))) % WRITE_ALIGN)
    return struct.pack("<Q", len(text)) + text


def write(path, tensors, metadata=None):
    data = encode(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)
    return len(data)


def parse_header(buf, dtypes=DTYPES):
    """Check the container rules on `buf` (bytes); return (header dict, data area offset)."""
    size = len(buf)
    if size < 8:
        raise SafetensorsError(f"bad header length: file is {size} bytes, shorter than the 8-byte length prefix")
    (n,) = struct.unpack_from("<Q", buf, 0)
    if n <= 1 or n > MAX_HEADER:
        raise SafetensorsError(f"bad header length: {n} (must be > 1 and <= {MAX_HEADER})")
    if 8 + n > size:
        raise SafetensorsError(f"bad header length: header of {n} bytes runs past the end of the {size}-byte file")
    try:
        header = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"header is not valid UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    meta = header.get("__metadata__")
    if meta is not None:
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise SafetensorsError("__metadata__ must be an object of string values")
    data_size = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise SafetensorsError(f"tensor '{name}': entry needs dtype, shape and data_offsets")
        dt = info["dtype"]
        if dt not in dtypes:
            raise SafetensorsError(f"tensor '{name}': dtype {dt!r} is not one of {', '.join(dtypes)}")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
            raise SafetensorsError(f"tensor '{name}': shape {shape!r} must be a list of integers >= 0")
        offs = info["data_offsets"]
        if (not isinstance(offs, list) or len(offs) != 2
                or not all(isinstance(o, int) and not isinstance(o, bool) for o in offs)):
            raise SafetensorsError(f"tensor '{name}': data_offsets {offs!r} must be two integers")
        begin, end = offs
        if not (0 <= begin <= end <= data_size):
            raise SafetensorsError(f"tensor '{name}': data_offsets [{begin}, {end}] outside the data area of {data_size} bytes")
        want = int(np.prod(shape, dtype=np.int64)) * dtypes[dt].itemsize
        if end - begin != want:
            raise SafetensorsError(f"tensor '{name}': dtype/shape mismatch: {dt} {shape} needs {want} bytes, "
                                   f"data_offsets span {end - begin}")
        if begin % ALIGN.get(dt, 1):
            raise SafetensorsError(f"tensor '{name}': {dt} data begins at {begin}, not a multiple of {ALIGN[dt]}")
        spans.append((begin, end, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise SafetensorsError(f"tensors '{n0}' [{b0}, {e0}) and '{n1}' [{b1}, {e1}) overlap")
    return header, 8 + n


def decode(buf, dtypes=DTYPES):
    """bytes -> ({name: numpy array (a copy, native order)}, metadata dict)."""
    header, start = parse_header(buf, dtypes)
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dt = dtypes[info["dtype"]]
        arr = np.frombuffer(buf, dtype=dt, count=(end - begin) // dt.itemsize, offset=start + begin)
        arr = arr.reshape(info["shape"]).astype(dt.newbyteorder("="), copy=True)
        if info["dtype"] == "BF16":   # bfloat16 = the high 16 bits of a float32
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = arr
    return tensors, dict(header.get("__metadata__") or {})


def read(path):
    """A model-file container (F32/F16/I8/U8 only)."""
    with open(path, "rb") as f:
        return decode(f.read())


def read_any(path):
    """Any safetensors file (e.g. a Hugging Face checkpoint), with the container checks."""
    with open(path, "rb") as f:
        return decode(f.read(), ANY_DTYPES)

