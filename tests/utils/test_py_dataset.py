"""PyDataset/Sequence in fit, evaluate and predict: every batch once per epoch, the epoch hooks,
threads, shuffled batch order, endless datasets with steps, and Keras's own PyDataset class."""

import threading
import warnings

import numpy as np
import pytest

import nablanet as nb
from nablanet.utils import PyDataset, Sequence

keras = pytest.importorskip("keras")


class Batches(PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.seen, self.epochs_ended, self.threads = [], 0, set()

    def __len__(self):
        return (len(self.x) + self.batch_size - 1) // self.batch_size

    def __getitem__(self, i):
        self.seen.append(i)
        self.threads.add(threading.get_ident())
        part = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


def _model(seed=0):
    nb.backend.set_random_seed(seed)
    model = nb.Sequential([nb.layers.Input(shape=(3,)), nb.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32"))


def test_fit_on_a_pydataset_equals_fit_on_the_arrays():
    x, y = _data()
    data = Batches(x, y, 4)
    ours = _model().fit(data, epochs=3, verbose=0, shuffle=False).history["loss"]
    arrays = _model().fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(ours, arrays, rtol=1e-6)
    assert data.seen == [0, 1, 2] * 3 and data.epochs_ended == 3


def test_shuffle_visits_every_batch_once_per_epoch_in_a_new_order():
    x, y = _data()
    data = Batches(np.repeat(x, 4, axis=0), np.repeat(y, 4, axis=0), 2)
    _model().fit(data, epochs=2, verbose=0, shuffle=True)
    first, second = data.seen[:20], data.seen[20:]
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != list(range(20)) or second != list(range(20))


def test_workers_fetch_in_threads_in_order_and_multiprocessing_warns():
    x, y = _data()
    data = Batches(x, y, 2, workers=3, max_queue_size=2)
    model = _model()
    model.fit(data, epochs=1, verbose=0, shuffle=False)
    assert len(data.threads - {threading.get_ident()}) >= 1
    single = Batches(x, y, 2)
    np.testing.assert_allclose(model.predict(data, verbose=0), model.predict(single, verbose=0))
    with pytest.warns(UserWarning, match="use_multiprocessing"):
        model.evaluate(Batches(x, y, 2, use_multiprocessing=True), verbose=0)


def test_an_endless_dataset_needs_steps():
    x, y = _data()

    class Endless(Batches):
        @property
        def num_batches(self):
            return None

    model = _model()
    with pytest.raises(ValueError, match="pass steps"):
        model.fit(Endless(x, y, 2), epochs=1, verbose=0)
    data = Endless(x, y, 2)
    model.fit(data, epochs=2, steps_per_epoch=2, verbose=0)
    assert data.seen == [0, 1, 2, 3]


def test_validation_and_evaluate_take_a_pydataset_and_reject_y():
    x, y = _data()
    model = _model()
    history = model.fit(x, y, validation_data=Batches(x, y, 5), epochs=1, verbose=0)
    assert "val_loss" in history.history
    np.testing.assert_allclose(model.evaluate(Batches(x, y, 5), verbose=0), model.evaluate(x, y, verbose=0),
                               rtol=1e-6)
    with pytest.raises(ValueError, match="do not pass y"):
        model.fit(Batches(x, y, 5), y, verbose=0)


def test_keras_own_pydataset_subclass_is_accepted():
    x, y = _data()

    class KerasBatches(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return x[i * 5:(i + 1) * 5], y[i * 5:(i + 1) * 5]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = KerasBatches()
    ours = _model().fit(data, epochs=2, verbose=0, shuffle=False).history["loss"]
    arrays = _model().fit(x, y, batch_size=5, epochs=2, verbose=0, shuffle=False).history["loss"]
    np.testing.assert_allclose(ours, arrays, rtol=1e-6)


def test_sequence_is_pydataset_and_bad_arguments_are_named():
    assert Sequence is PyDataset
    with pytest.raises(ValueError, match="PyDataset: workers"):
        PyDataset(workers=-1)
    with pytest.raises(NotImplementedError, match="__getitem__"):
        PyDataset()[0]


# -- steps_per_epoch below the data's length: Keras's epochs continue the pass ---------------------------------

def _first_values_seen(library, data, steps, epochs=4):
    """The first value of each batch `train_step` received, and the warnings, for one `fit`."""
    seen = []

    class Model(library.Model):
        def train_step(self, batch):
            seen.append(int(library.ops.convert_to_numpy(batch[0])[0, 0]))
            return super().train_step(batch)

    inputs = library.layers.Input(shape=(3,))
    model = Model(inputs, library.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(*data(library), batch_size=2, epochs=epochs, steps_per_epoch=steps, shuffle=False,
                            verbose=0)
    ran_out = [w for w in caught if "ran out of data" in str(w.message)]
    return seen, len(ran_out), len(history.history["loss"])


def _arrays(library):
    x = np.repeat(np.arange(10, dtype="float32")[:, None], 3, axis=1)
    return x, np.zeros((10, 1), "float32")


def _pydataset(library):
    class Data(library.utils.PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2, 3), 2 * i, "float32"), np.zeros((2, 1), "float32")

    return (Data(),)


@pytest.mark.parametrize("data", [_arrays, _pydataset], ids=["arrays", "pydataset"])
@pytest.mark.parametrize("steps", [2, 3, 5, 7])
def test_steps_per_epoch_continues_the_pass_as_keras(data, steps):
    ours = _first_values_seen(nb, data, steps)
    theirs = _first_values_seen(keras, data, steps)
    assert ours == theirs


def test_pydataset_hooks_run_each_epoch_when_the_pass_continues():
    events = []

    class Data(PyDataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            events.append(i)
            return np.zeros((2, 3), "float32"), np.zeros((2, 1), "float32")

        def on_epoch_begin(self):
            events.append("begin")

        def on_epoch_end(self):
            events.append("end")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _model().fit(Data(), epochs=3, steps_per_epoch=2, shuffle=False, verbose=0)
    assert events == ["begin", 0, 1, "end", "begin", 2, 3, "end", "begin", 4, "end"]
