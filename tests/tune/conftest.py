"""Small data and models for the tuner tests, and a PostgreSQL server for the shared-storage test.

The server: NABLANET_TEST_POSTGRES_URL when set (.ci/run starts a private cluster from Debian's
package and sets it); else a private cluster started here from initdb/pg_ctl when they are
installed; else the test skips, which CI turns into a failure.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile

import numpy as np
import pytest


@pytest.fixture(scope="session")
def digits():
    """(x_train, y_train, x_val, y_val): 300 + 200 of scikit-learn's handwritten digits."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x, y = (data.data / 16.0).astype("float32"), data.target
    return x[:300], y[:300], x[300:500], y[300:500]


@pytest.fixture
def tiny():
    """A regression problem small enough that a trial takes milliseconds."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")
    return x, y


@pytest.fixture
def dense_model():
    """`dense_model(units, lr=0.01, activation="relu")`: a compiled 3-units-1 regressor."""
    import nablanet as nn

    def build(units, lr=0.01, activation="relu"):
        model = nn.Sequential([nn.layers.Dense(units, activation=activation, input_shape=(3,)),
                               nn.layers.Dense(1)])
        model.compile(optimizer=nn.optimizers.Adam(lr), loss="mse")
        return model

    return build


def _postgres_bin():
    found = shutil.which("initdb"), shutil.which("pg_ctl")
    if all(found):
        return os.path.dirname(found[0])
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(candidates[-1]) if candidates else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory):
    url = os.environ.get("NABLANET_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server: set NABLANET_TEST_POSTGRES_URL (.ci/run does) or install "
                    "PostgreSQL so that initdb and pg_ctl are found")
    as_root = os.geteuid() == 0  # PostgreSQL refuses root: run it as the package's postgres user
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    # as root the cluster needs a folder the postgres user can reach; pytest's is private to root
    folder = tempfile.mkdtemp(prefix="nablanet-pg-") if as_root else str(tmp_path_factory.mktemp("pg"))
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(folder, "postgres")
    data, port = os.path.join(folder, "data"), _free_port()
    try:
        subprocess.run([*prefix, f"{bin_dir}/initdb", "-D", data, "-U", "postgres", "-A", "trust",
                        "--no-locale", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off"
        subprocess.run([*prefix, f"{bin_dir}/pg_ctl", "-D", data, "-o", options, "-l",
                        os.path.join(folder, "log"), "-w", "start"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, f"{bin_dir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        if as_root:
            shutil.rmtree(folder, ignore_errors=True)
