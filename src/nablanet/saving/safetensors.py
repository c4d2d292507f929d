"""The safetensors format, read and written with NumPy alone.

A file is an 8-byte little-endian header length, a JSON header mapping each tensor name to its
dtype, shape and byte range, then the raw little-endian bytes. Reading validates everything
(lengths, ranges, dtypes, sizes) before it touches the data, and never runs code: the format
has no way to carry any.

>>> blob = dumps({"w": np.arange(6, dtype=np.float32).reshape(2, 3).T})
>>> loads(blob)[0]["w"].tolist()
[[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
"""

import json
import math
import struct

import numpy as np

DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I8": "i1", "I16": "<i2", "I32": "<i4",
          "I64": "<i8", "U8": "u1", "U16": "<u2", "U32": "<u4", "U64": "<u8", "BOOL": "?"}
CODES = {np.dtype(v).str.lstrip("<|=>"): k for k, v in DTYPES.items()}
MAX_HEADER = 100 << 20


class SafetensorsError(ValueError):
    """A safetensors file that is truncated, corrupted or not safetensors at all."""


def _code(array):
    code = CODES.get(array.dtype.str.lstrip("<|=>"))
    if code is None:
        raise SafetensorsError(f"safetensors: cannot store dtype {array.dtype}")
    return code


def dumps(tensors, metadata=None):
    """Serialize a dict of arrays (made contiguous and little-endian first) to bytes."""
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        code = _code(array)
        data = np.ascontiguousarray(array, dtype=np.dtype(DTYPES[code])).tobytes()  # strided: copied in order
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # align the data to 8 bytes, as the reference writer does
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def loads(blob, source="<bytes>"):
    """Parse bytes into `(tensors, metadata)`; raise `SafetensorsError` naming what is wrong."""
    blob = memoryview(blob)
    if len(blob) < 8:
        raise SafetensorsError(f"{source}: not a safetensors file (only {len(blob)} bytes)")
    (length,) = struct.unpack("<Q", blob[:8])
    if length > MAX_HEADER or 8 + length > len(blob):
        raise SafetensorsError(f"{source}: truncated or not safetensors (header of {length} bytes in a "
                               f"{len(blob)}-byte file)")
    try:
        header = json.loads(bytes(blob[8:8 + length]).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{source}: corrupted safetensors header ({error})") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{source}: corrupted safetensors header (not a JSON object)")
    metadata = _metadata(header.pop("__metadata__", None), source)
    data = blob[8 + length:]
    tensors, end = {}, 0
    for name, entry in sorted(header.items(), key=lambda item: _start(item, source)):
        dtype, shape, (start, stop) = _entry(name, entry, source)
        if start != end or stop < start or stop > len(data):
            raise SafetensorsError(f"{source}: tensor {name!r} has byte range {start}..{stop} outside the "
                                   f"{len(data)} data bytes (truncated or corrupted)")
        if (stop - start) != math.prod(shape) * dtype.itemsize:  # Python ints: no overflow
            raise SafetensorsError(f"{source}: tensor {name!r} of shape {shape} {dtype} does not fill its "
                                   f"{stop - start} bytes")
        tensors[name] = np.frombuffer(data[start:stop], dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
        end = stop
    if end != len(data):
        raise SafetensorsError(f"{source}: {len(data) - end} bytes after the last tensor (corrupted)")
    return tensors, metadata


def _metadata(metadata, source):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in metadata.items()):
        raise SafetensorsError(f"{source}: corrupted safetensors header (__metadata__ must map strings "
                               f"to strings, got {metadata!r:.80})")
    return metadata


def _natural_numbers(values, count=None):
    """Whether `values` is a list of ints >= 0 (of length `count`): not floats, not booleans."""
    return (isinstance(values, list) and (count is None or len(values) == count)
            and all(type(v) is int and v >= 0 for v in values))


def _entry(name, entry, source):
    """A header entry's (dtype, shape, byte range), checked."""
    if not isinstance(entry, dict) or not _natural_numbers(entry.get("shape")) or not _natural_numbers(
            entry.get("data_offsets"), 2):
        raise SafetensorsError(f"{source}: tensor {name!r} has a malformed header entry {entry!r:.200}")
    code = entry.get("dtype")
    if code not in DTYPES:
        raise SafetensorsError(f"{source}: tensor {name!r} has dtype {code!r:.40}, which nablanet does not "
                               f"read (it reads {', '.join(DTYPES)}); convert it first, e.g. with "
                               "tensor.float() before safetensors' save_file")
    return np.dtype(DTYPES[code]), tuple(entry["shape"]), tuple(entry["data_offsets"])


def _start(item, source):
    try:
        return int(item[1]["data_offsets"][0])
    except (KeyError, TypeError, ValueError, IndexError):
        raise SafetensorsError(f"{source}: tensor {item[0]!r} has a malformed header entry") from None
