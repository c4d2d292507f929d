"""RemoteMonitor against a local HTTP server, with the payloads Keras's callback hands to `requests`
(not installed: a stand-in records the call, and the bytes are encoded as `requests` encodes them)."""

import http.server
import json
import socket
import threading
import types
import urllib.parse
import warnings

import numpy as np
import pytest

import nablanet as nk

remote_monitor_module = pytest.importorskip("keras.src.callbacks.remote_monitor")
keras = pytest.importorskip("keras")

LOGS = {"loss": np.float32(0.25), "accuracy": 0.5, "val_loss": np.array(1.5)}


@pytest.fixture
def server():
    """`(url, received)`: each POST is recorded as `(path, headers, body)`; `/fail/` answers 500."""
    received = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, dict(self.headers), body))
            self.send_response(500 if self.path.startswith("/fail/") else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _keras_request(monkeypatch, epoch, logs, **kwargs):
    """The URL, body bytes and headers of the request Keras's RemoteMonitor makes, as `requests` encodes it."""
    calls = []

    def post(url, data=None, json=None, headers=None):
        calls.append((url, data, json, headers))

    fake = types.SimpleNamespace(post=post, exceptions=types.SimpleNamespace(RequestException=OSError))
    monkeypatch.setattr(remote_monitor_module, "requests", fake)
    keras.callbacks.RemoteMonitor(**kwargs).on_epoch_end(epoch, dict(logs))
    (url, data, sent_json, headers), = calls
    if sent_json is not None:  # requests sends json.dumps(allow_nan=False) as UTF-8
        return url, json.dumps(sent_json, allow_nan=False).encode("utf-8"), headers
    return url, urllib.parse.urlencode(data, doseq=True).encode("ascii"), headers


@pytest.mark.parametrize("kwargs", [{}, {"send_as_json": True, "headers": {"X-Run": "7"}},
                                    {"field": "payload", "path": "/events/"}])
def test_the_payload_is_keras(monkeypatch, server, kwargs):
    url, received = server
    their_url, their_body, their_headers = _keras_request(monkeypatch, 4, LOGS, root=url, **kwargs)
    nk.callbacks.RemoteMonitor(root=url, **kwargs).on_epoch_end(4, dict(LOGS))
    (path, headers, body), = received
    assert url + path == their_url
    assert body == their_body
    expected_type = "application/json" if kwargs.get("send_as_json") else "application/x-www-form-urlencoded"
    assert headers["Content-Type"] == expected_type
    for name, value in (their_headers or {}).items():
        assert headers[name] == value


def test_fit_posts_every_epochs_logs(server):
    url, received = server
    model = nk.Sequential([nk.Input((2,)), nk.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    x = np.arange(8, dtype="float32").reshape(4, 2) / 8
    history = model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=[nk.callbacks.RemoteMonitor(root=url)])
    sent = [json.loads(urllib.parse.parse_qs(body.decode())["data"][0]) for _, _, body in received]
    assert [s.pop("epoch") for s in sent] == [0, 1]
    assert sent == [{name: values[epoch] for name, values in history.history.items()} for epoch in range(2)]


def test_an_unreachable_server_warns_as_keras_and_training_goes_on():
    with socket.socket() as probe:  # a port that was free a moment ago, with nothing listening
        probe.bind(("127.0.0.1", 0))
        root = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with pytest.warns(UserWarning, match=f"^Could not reach RemoteMonitor root server at {root}$"):
        nk.callbacks.RemoteMonitor(root=root).on_epoch_end(0, {"loss": 1.0})


def test_an_error_status_is_not_a_warning(server):
    url, received = server
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nk.callbacks.RemoteMonitor(root=url, path="/fail/").on_epoch_end(0, {"loss": 1.0})
    assert len(received) == 1
