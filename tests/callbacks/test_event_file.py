"""Event files as TensorBoard's own reader decodes them: framing, checksums and each message."""

import pathlib

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_file_loader
from tensorboard.compat.proto import graph_pb2
from tensorboard.compat.tensorflow_stub import pywrap_tensorflow
from tensorboard.util import tensor_util

from nablanet.callbacks import event_file


def _events(path):
    return list(event_file_loader.LegacyEventFileLoader(str(path)).Load())


@pytest.mark.parametrize("size", [0, 1, 7, 300])
def test_masked_crc32c_is_tensorboards(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert event_file.masked_crc32c(data) == pywrap_tensorflow.masked_crc32c(data)


def test_the_checksums_are_checked_by_tensorboards_reader(tmp_path):
    writer = event_file.EventFileWriter(str(tmp_path))
    writer.add_values(3, [event_file.scalar_value("loss", 0.25)])
    assert [e.step for e in _events(writer.path)] == [0, 3]
    path = pathlib.Path(writer.path)
    data = bytearray(path.read_bytes())
    data[-6] ^= 1  # a bit of the last event's payload
    path.write_bytes(bytes(data))
    assert [e.step for e in _events(writer.path)] == [0]  # the reader stops at the bad record


def test_each_message_reads_back(tmp_path):
    writer = event_file.EventFileWriter(str(tmp_path))
    values = np.random.default_rng(0).standard_normal(50)
    writer.add_values(-1, [event_file.scalar_value("a/loss", 0.125)])  # a negative step is ten varint bytes
    writer.add_values(2 ** 40, [event_file.histogram_value("w/histogram", values, bins=7)])
    writer.add_values(5, [event_file.tensor_value("keras", ['{"x": "é"}'], (), "graph_keras_model", b"1")])
    writer.add_graph(event_file.graph_def([("in", "InputLayer", []), ("d", "Dense", ["in"])]))
    first, scalar, histogram, tensor, graph = _events(writer.path)

    assert first.file_version == "brain.Event:2" and first.step == 0
    assert (scalar.step, scalar.summary.value[0].tag, scalar.summary.value[0].simple_value) == (-1, "a/loss", 0.125)

    histo = histogram.summary.value[0].histo
    counts, edges = np.histogram(values, bins=7)
    assert histogram.step == 2 ** 40
    assert (histo.min, histo.max, histo.num) == (values.min(), values.max(), 50)
    np.testing.assert_allclose([histo.sum, histo.sum_squares], [values.sum(), (values ** 2).sum()], rtol=1e-12)
    np.testing.assert_array_equal(histo.bucket_limit, edges[1:])
    np.testing.assert_array_equal(histo.bucket, counts)

    value = tensor.summary.value[0]
    assert value.metadata.plugin_data.plugin_name == "graph_keras_model"
    assert value.metadata.plugin_data.content == b"1"
    assert tensor_util.make_ndarray(value.tensor).item().decode("utf-8") == '{"x": "é"}'

    nodes = graph_pb2.GraphDef.FromString(graph.graph_def).node
    assert [(n.name, n.op, list(n.input)) for n in nodes] == [("in", "InputLayer", []), ("d", "Dense", ["in"])]


def test_png_decodes_to_the_same_pixels():
    image_module = pytest.importorskip("PIL.Image")
    import io

    rng = np.random.default_rng(1)
    for channels, mode in [(1, "L"), (3, "RGB"), (4, "RGBA")]:
        pixels = rng.integers(0, 256, (5, 7, channels), dtype=np.uint8)
        decoded = np.asarray(image_module.open(io.BytesIO(event_file.png(pixels))))
        assert image_module.open(io.BytesIO(event_file.png(pixels))).mode == mode
        np.testing.assert_array_equal(decoded.reshape(pixels.shape), pixels)
