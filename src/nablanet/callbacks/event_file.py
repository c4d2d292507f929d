"""TensorBoard event files, written with the standard library and NumPy only.

An event file is a sequence of TFRecords (length, masked CRC32C of the length, data, masked CRC32C
of the data), each holding one `Event` protocol buffer. This module encodes by hand the few messages
the TensorBoard callback needs (Event, Summary, Summary.Value, SummaryMetadata, HistogramProto,
TensorProto, GraphDef, NodeDef), with the field numbers of TensorFlow's `.proto` files.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     writer = EventFileWriter(folder)
    ...     writer.add_values(0, [scalar_value("epoch_loss", 0.5)])
    ...     os.path.getsize(writer.path) > 0
    True
"""

import itertools
import os
import socket
import struct
import time
import zlib

import numpy as np

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_DT_STRING = 7  # TensorFlow's DataType enum


# -- protocol buffer wire format ------------------------------------------------------------------

def _varint(n):
    n &= (1 << 64) - 1  # negative int64 values take ten bytes, as protobuf writes them
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _key(field, wire_type):
    return _varint(field << 3 | wire_type)


def _bytes_field(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, _BYTES) + _varint(len(data)) + data


def _varint_field(field, n):
    return _key(field, _VARINT) + _varint(int(n))


def _double_field(field, x):
    return _key(field, _FIXED64) + struct.pack("<d", float(x))


def _packed_doubles(field, values):
    return _bytes_field(field, np.asarray(values, dtype="<f8").tobytes())


# -- messages -------------------------------------------------------------------------------------

def event(step, summary=None, file_version=None, graph_def=None, wall_time=None):
    """An `Event`: a step and one of a summary, the file's version string or a graph."""
    data = _double_field(1, time.time() if wall_time is None else wall_time) + _varint_field(2, step)
    if file_version is not None:
        data += _bytes_field(3, file_version)
    if graph_def is not None:
        data += _bytes_field(4, graph_def)
    if summary is not None:
        data += _bytes_field(5, summary)
    return data


def summary(values):
    """A `Summary` of encoded `Summary.Value`s."""
    return b"".join(_bytes_field(1, value) for value in values)


def scalar_value(tag, value):
    """A `Summary.Value` holding a float (TensorBoard's scalars)."""
    return _bytes_field(1, tag) + _key(2, _FIXED32) + struct.pack("<f", float(value))


def histogram_value(tag, values, bins=30):
    """A `Summary.Value` holding a `HistogramProto` of `values` in `bins` equal buckets."""
    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    counts, edges = np.histogram(values, bins=bins) if values.size else (np.zeros(0), np.zeros(1))
    low, high = (values.min(), values.max()) if values.size else (0.0, 0.0)
    histo = (_double_field(1, low) + _double_field(2, high) + _double_field(3, values.size)
             + _double_field(4, values.sum()) + _double_field(5, np.dot(values, values))
             + _packed_doubles(6, edges[1:]) + _packed_doubles(7, counts))
    return _bytes_field(1, tag) + _bytes_field(5, histo)


def tensor_value(tag, strings, shape, plugin_name, content=b""):
    """A `Summary.Value` holding a string tensor of `shape`, tagged for a TensorBoard plugin."""
    plugin_data = _bytes_field(1, plugin_name) + (_bytes_field(2, content) if content else b"")
    metadata = _bytes_field(1, plugin_data)
    dims = b"".join(_bytes_field(2, _varint_field(1, size)) for size in shape)
    tensor = _varint_field(1, _DT_STRING) + _bytes_field(2, dims) + b"".join(_bytes_field(8, s) for s in strings)
    return _bytes_field(1, tag) + _bytes_field(9, metadata) + _bytes_field(8, tensor)


def graph_def(nodes):
    """A `GraphDef` from `(name, op, inputs)` triples."""
    data = b"".join(
        _bytes_field(1, _bytes_field(1, name) + _bytes_field(2, op) + b"".join(_bytes_field(3, i) for i in inputs))
        for name, op, inputs in nodes
    )
    return data + _bytes_field(4, _varint_field(1, 1))  # versions: producer 1


# -- TFRecord framing -----------------------------------------------------------------------------

def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)  # Castagnoli's polynomial, reflected
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc32c(data):
    """The CRC-32C (Castagnoli) checksum of `data`.

    Example:
        >>> hex(crc32c(b"123456789"))
        '0xe3069283'
    """
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's masked CRC-32C: rotated right by 15 bits plus a constant, modulo 2**32."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    """`data` framed as one TFRecord."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# -- images ---------------------------------------------------------------------------------------

def png(image):
    """An 8-bit grey, grey+alpha, RGB or RGBA image of shape `(height, width, channels)` as PNG bytes."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    height, width, channels = image.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * channels)], axis=1)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + chunk(b"IEND", b""))


# -- the writer -----------------------------------------------------------------------------------

_FILE_NUMBERS = itertools.count()


class EventFileWriter:
    """Appends events to a new event file in `logdir` (one TensorBoard run).

    The file is opened for each append and closed again, so a writer holds no open file between
    writes and needs no closing.
    """

    def __init__(self, logdir):
        os.makedirs(logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}.{os.getpid()}."
                f"{next(_FILE_NUMBERS)}.v2")
        self.path = os.path.join(logdir, name)
        self._write([event(0, file_version="brain.Event:2")])

    def _write(self, events):
        with open(self.path, "ab") as file:
            file.write(b"".join(record(e) for e in events))

    def add_values(self, step, values):
        """Write one event per encoded `Summary.Value`, all at `step`."""
        if values:
            self._write([event(step, summary=summary([value])) for value in values])

    def add_graph(self, graph):
        """Write an encoded `GraphDef`."""
        self._write([event(0, graph_def=graph)])
