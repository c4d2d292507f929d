"""keras.distribution's names in one process: Keras's signatures, the mesh and layout objects,
one process training as before, and the errors a user can meet."""

import inspect
import os
import subprocess
import sys

import numpy as np
import pytest

import nablanet as nb
from nablanet import distribution

keras = pytest.importorskip("keras")


def test_the_names_and_signatures_are_keras_s():
    for name in dir(keras.distribution):
        if name.startswith("_"):
            continue
        ours, theirs = getattr(distribution, name), getattr(keras.distribution, name)
        assert inspect.signature(ours) == inspect.signature(theirs), name


def test_one_process_is_one_device_and_trains_as_before():
    assert distribution.list_devices() == ["cpu:0"] and distribution.get_device_count() == 1
    strategy = distribution.DataParallel()
    assert strategy.num_processes == 1 and strategy.data_shard_id == 0 and strategy.batch_dim_name == "batch"
    assert strategy.device_mesh.shape == (1,) and list(strategy.device_mesh.devices) == ["cpu:0"]
    with strategy.scope():
        assert distribution.distribution() is strategy and nb.backend.replica() is None
        model = nb.Sequential([nb.layers.Input(shape=(2,)), nb.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), epochs=2, verbose=0)
        assert len(history.history["loss"]) == 2
    assert distribution.distribution() is None


def test_layouts_and_the_layout_map():
    mesh = distribution.DeviceMesh((1,), ["batch"])
    layout = distribution.TensorLayout(["batch", None], mesh)
    assert layout.axes == ("batch", None) and layout.device_mesh is mesh
    strategy = distribution.DataParallel(device_mesh=mesh)
    assert strategy.get_data_layout((4, 3)).axes == ("batch", None)
    assert strategy.get_variable_layout(nb.Variable(np.zeros((2, 3)))).axes == (None, None)
    layouts = distribution.LayoutMap(mesh)
    layouts["dense.*kernel"] = (None, "batch")
    assert layouts["dense/kernel"].axes == (None, "batch") and layouts["conv/kernel"] is None
    x = np.arange(6).reshape(3, 2)
    assert distribution.distribute_tensor(x, layout) is x  # one process holds the whole batch


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="shape .* and axis_names"):
        distribution.DeviceMesh((1, 1), ["batch"])
    with pytest.raises(ValueError, match="holds 2 devices, but 1 were given"):
        distribution.DeviceMesh((2,), ["batch"])
    with pytest.raises(ValueError, match="1 MPI ranks"):
        distribution.DataParallel(devices=["cpu:0", "cpu:1"])
    with pytest.raises(NotImplementedError, match="DataParallel"):
        distribution.ModelParallel(layout_map=None)
    with pytest.raises(ValueError, match="DataParallel or None"):
        distribution.set_distribution("data")
    with pytest.raises(ValueError, match="not axes of the mesh"):
        distribution.TensorLayout(["model"], distribution.DeviceMesh((1,), ["batch"]))
    with pytest.raises(ValueError, match="CPU processes"):
        distribution.list_devices("gpu")


def test_a_job_launched_without_mpi4py_says_how_to_install_it():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import nablanet as nb\n"
            "try:\n    nb.distribution.list_devices()\nexcept ImportError as e:\n    print(e)\n")
    env = dict(os.environ, OMPI_COMM_WORLD_SIZE="2",
               PYTHONPATH=os.path.dirname(os.path.dirname(nb.__file__)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "pip install 'nablanet[mpi]'" in done.stdout, done.stderr


def test_synchronized_batch_norm_in_one_process_is_batch_norm():
    x = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    plain, synced = nb.layers.BatchNormalization(), nb.layers.BatchNormalization(synchronized=True)
    np.testing.assert_array_equal(nb.ops.convert_to_numpy(plain(x, training=True)),
                                  nb.ops.convert_to_numpy(synced(x, training=True)))
    assert synced.get_config()["synchronized"] is True
    assert set(synced.get_config()) == set(keras.layers.BatchNormalization().get_config())
