"""RemoteMonitor: post every epoch's logs to a server, over the standard library's urllib."""

import json
import warnings

import numpy as np

from nablanet.callbacks.base import Callback


class RemoteMonitor(Callback):
    """POST `{"epoch": epoch, **logs}` as JSON to `root + path` at the end of every epoch.

    The JSON goes in a form field (`field=<json>`, form-encoded), or, with `send_as_json`, as the
    request's body with the content type `application/json`. An unreachable server gives a warning
    and training goes on; the server's answer is not read.

    Args:
        root: The server's URL.
        path: The path under `root` that receives the events.
        field: The form field that holds the JSON (without `send_as_json`).
        headers: Extra HTTP headers, a dict.
        send_as_json: Send the JSON as the body instead of in a form.

    Example:
        >>> monitor = RemoteMonitor(root="http://127.0.0.1:9000", send_as_json=True)
        >>> monitor.root + monitor.path
        'http://127.0.0.1:9000/publish/epoch/end/'
    """

    chief_only = True

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error  # here: urllib.request is slow to import and most fits never need it
        import urllib.parse
        import urllib.request

        send = {"epoch": epoch}
        for name, value in (logs or {}).items():
            send[name] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        if self.send_as_json:
            body, content_type = json.dumps(send).encode("utf-8"), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("ascii")
            content_type = "application/x-www-form-urlencoded"
        headers = {"Content-Type": content_type, **(self.headers or {})}
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request):
                pass
        except urllib.error.HTTPError:
            pass  # the server answered: its status is not ours to judge, as in Keras
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
