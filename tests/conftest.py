"""Fixtures for the download tests (tests/utils, tests/datasets): a local HTTP server."""

import functools
import http.server
import threading

import pytest


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def keras64():
    """Keras with floatx float64: its losses otherwise convert their inputs to float32."""
    keras = pytest.importorskip("keras")
    previous = keras.backend.floatx()
    keras.backend.set_floatx("float64")
    yield keras
    keras.backend.set_floatx(previous)


@pytest.fixture
def served(tmp_path):
    """`(folder, base_url)`: files written into `folder` are served at `base_url + name`."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

