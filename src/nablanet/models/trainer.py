"""The one training loop: epochs, then batches, then `train_step`, then callbacks, then
validation; and evaluate and predict, which reuse its batching.

Data come as NumPy arrays (or lists, or dicts keyed by input name), or as an iterable that
yields `(x, y)` or `(x, y, sample_weight)` batches.
"""

import contextlib
import math

import numpy as np

from nablanet import backend
from nablanet.autodiff.tensor import Tensor
from nablanet.tree import flatten, map_structure


class DataError(ValueError):
    """Training data that cannot be used as given."""


# -- data --------------------------------------------------------------------------------------

def _as_array(x, where, name):
    if isinstance(x, Tensor):
        x = x.data
    try:
        x = np.asarray(x)
    except ValueError as error:
        raise DataError(f"{where}: {name} could not be converted to an array ({error})") from None
    if x.dtype == object and x.size and all(isinstance(v, (str, bytes)) for v in x.flat):
        # strings for lookup and hashing layers, as pandas hands them over; bytes as UTF-8, as Keras reads them
        x = np.array([v.decode() if isinstance(v, bytes) else v for v in x.flat], dtype=str).reshape(x.shape)
    if x.dtype == object:
        raise DataError(f"{where}: {name} has ragged or non-numeric entries; pad sequences to one length")
    if x.dtype.kind == "f" and x.dtype != np.dtype(backend.floatx()):
        x = x.astype(backend.floatx())
    return x


def standardize(x, where, name="x"):
    """Arrays in the structure the model takes: one array, a list of them, or a dict."""
    if isinstance(x, dict):
        return {k: _as_array(v, where, f"{name}[{k!r}]") for k, v in x.items()}
    if isinstance(x, (list, tuple)) and x and all(isinstance(v, (np.ndarray, Tensor)) for v in x):
        return type(x)(_as_array(v, where, f"{name}[{i}]") for i, v in enumerate(x))  # a tuple stays a tuple
    return _as_array(x, where, name)


def num_samples(structure, where):
    lengths = {len(a) if a.ndim else 0 for a in flatten(structure)}
    if len(lengths) != 1:
        raise DataError(f"{where}: all input arrays must have the same number of samples, got {sorted(lengths)}")
    return lengths.pop()


def _finite_sum(a):
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(a.sum()))


def check_arrays(x, y, sample_weight, where):
    n = num_samples(x, where)
    if n == 0:
        raise DataError(f"{where}: x is empty (0 samples); pass at least one sample")
    for name, structure in (("x", x), ("y", None if y is x else y)):  # an autoencoder's y is its x
        for a in flatten(structure) if structure is not None else ():
            # one fast reduction first: a NaN or an infinity makes the sum non-finite (so may an
            # overflow of finite values, which the exact test then clears)
            if a.dtype.kind == "f" and not _finite_sum(a) and not np.isfinite(a).all():
                bad = np.argwhere(~np.isfinite(a))[0]
                raise DataError(
                    f"{where}: {name} contains NaN or inf values (the first at index {tuple(bad.tolist())}); "
                    "clean or impute the data first"
                )
    if y is not None:
        m = num_samples(y, where)
        if m != n:
            raise DataError(f"{where}: x and y must have the same number of samples, got {n} in x and {m} in y")
    if sample_weight is not None and len(sample_weight) != n:
        raise DataError(f"{where}: sample_weight has {len(sample_weight)} entries for {n} samples")
    return n


def take(structure, index):
    return None if structure is None else map_structure(lambda a: a[index], structure)


def class_weights_to_samples(y, class_weight, where):
    labels = np.asarray(flatten(y)[0])
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = np.argmax(labels, axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64) if labels.ndim else labels
    missing = set(np.unique(labels).tolist()) - set(class_weight)
    if missing:
        raise DataError(f"{where}: class_weight has no weight for classes {sorted(missing)}")
    return np.array([class_weight[c] for c in labels.tolist()], dtype=backend.floatx())


class ArrayBatches:
    """Batches of arrays, reshuffled each pass when `shuffle`."""

    def __init__(self, x, y=None, sample_weight=None, batch_size=32, shuffle=False, where="fit"):
        self.x, self.y, self.sample_weight = x, y, sample_weight
        self.n = num_samples(x, "batches")
        self.batch_size, self.shuffle, self.where = batch_size, shuffle, where

    @property
    def n_steps(self):
        return math.ceil(self.n / self.batch_size)

    num_batches = n_steps

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def one_pass(self):
        order = backend.generator().permutation(self.n) if self.shuffle else None
        replica = backend.replica()
        for start in range(0, self.n, self.batch_size):
            index = slice(start, start + self.batch_size) if order is None else order[start:start + self.batch_size]
            if replica is not None:  # this rank's share of the global batch
                part = _share(replica, min(self.batch_size, self.n - start), self.where)
                index = slice(start + part.start, start + part.stop) if order is None else index[part]
            x = take(self.x, index)
            y = x if self.y is self.x else take(self.y, index)
            yield pack_x_y_sample_weight(x, y, None if self.sample_weight is None else self.sample_weight[index])

    epoch = one_pass


class IterableBatches:
    """Batches from a generator or iterable of `(x, y[, sample_weight])` tuples."""

    def __init__(self, data, steps=None, where="fit"):
        self.data, self.steps, self.where = data, steps, where
        self._iterator = None

    @property
    def n_steps(self):
        """Steps per epoch if known: given, or the length of a sized iterable."""
        if self.steps is not None:
            return self.steps
        return self.num_batches

    @property
    def num_batches(self):
        return len(self.data) if hasattr(self.data, "__len__") else None

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass

    def one_pass(self):
        """The batches until the iterable ends: a re-iterable restarts, a generator continues."""
        for batch in self.data:
            yield shard_batch(standardize_batch(batch, self.where), self.where)

    def epoch(self):
        if self._iterator is None or self.steps is None:
            self._iterator = iter(self.data)  # a re-iterable restarts; a generator continues
        count = 0
        while self.steps is None or count < self.steps:
            try:
                batch = next(self._iterator)
            except StopIteration:
                if self.steps is not None and count == 0:
                    raise DataError(f"{self.where}: the data iterator is exhausted") from None
                self._iterator = None
                return
            yield shard_batch(standardize_batch(batch, self.where), self.where)
            count += 1


def is_py_dataset(x):
    """A `keras.utils.PyDataset` (or `Sequence`), by its protocol: indexed batches, a length, `on_epoch_end`."""
    return (not isinstance(x, (np.ndarray, Tensor, list, tuple, dict)) and hasattr(x, "__getitem__")
            and hasattr(x, "__len__") and hasattr(x, "on_epoch_end"))


class PyDatasetBatches:
    """Batches `dataset[i]` of a PyDataset, in order (or shuffled batch order in `fit`), fetched by
    `dataset.workers` threads with at most `max_queue_size` batches ahead; `on_epoch_begin` and
    `on_epoch_end` around each epoch."""

    def __init__(self, dataset, steps=None, shuffle=False, where="fit"):
        from nablanet.compat import warn_ignored

        self.dataset, self.steps, self.shuffle, self.where = dataset, steps, shuffle, where
        self.workers = int(getattr(dataset, "workers", 1) or 1)
        self.queue_size = max(1, int(getattr(dataset, "max_queue_size", 10) or 1))
        if getattr(dataset, "use_multiprocessing", False):
            warn_ignored(where, "use_multiprocessing", True, "PyDataset batches are fetched by threads "
                         f"(workers={self.workers}) in this process", default=False)
        total = self._num_batches()
        if total is None and steps is None:
            raise DataError(f"{where}: this PyDataset has no length (num_batches is None); pass steps")
        self._next = 0  # where an endless dataset continues

    def _num_batches(self):
        total = getattr(type(self.dataset), "num_batches", None)
        if isinstance(total, property):
            return self.dataset.num_batches
        return len(self.dataset)

    @property
    def n_steps(self):
        total = self._num_batches()
        return total if self.steps is None else self.steps if total is None else min(self.steps, total)

    @property
    def num_batches(self):
        return self._num_batches()

    def on_epoch_begin(self):
        if hasattr(self.dataset, "on_epoch_begin"):
            self.dataset.on_epoch_begin()

    def on_epoch_end(self):
        self.dataset.on_epoch_end()

    def _indices(self, limit=None):
        total = self._num_batches()
        if total is None:  # endless: where the last epoch stopped, onwards
            import itertools

            if limit is None:
                return itertools.count(self._next)
            start, self._next = self._next, self._next + limit
            return range(start, start + limit)
        order = backend.generator().permutation(total).tolist() if self.shuffle else list(range(total))
        return order if limit is None else order[:min(limit, total)]

    def _fetch(self, index):
        try:
            return self.dataset[index]
        except IndexError as error:
            raise DataError(f"{self.where}: the PyDataset has no batch {index} ({error})") from None

    def one_pass(self, limit=None):
        """Every batch once, or the first `limit` (an endless dataset: from where the last pass
        stopped), without the epoch hooks."""
        indices = self._indices(limit)
        if self.workers <= 1:
            for index in indices:
                yield shard_batch(standardize_batch(self._fetch(index), self.where), self.where)
            return
        import collections
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.workers) as pool:
            pending, todo = collections.deque(), iter(indices)
            for index in todo:
                pending.append(pool.submit(self._fetch, index))
                if len(pending) >= self.queue_size:
                    break
            while pending:
                batch = pending.popleft().result()
                index = next(todo, None)
                if index is not None:
                    pending.append(pool.submit(self._fetch, index))
                yield shard_batch(standardize_batch(batch, self.where), self.where)

    def epoch(self):
        """One epoch of `evaluate`/`predict`: `steps` batches (all, if None) between the epoch hooks."""
        self.on_epoch_begin()
        yield from self.one_pass(self.n_steps)
        self.on_epoch_end()


class Epochs:
    """The epochs of `fit`, by Keras's rule: with `steps_per_epoch`, one pass over the data goes on
    into the next epoch; an epoch that finds the data used up ends early with Keras's warning, and
    the next epoch starts a new (reshuffled) pass. Without it, each epoch is one whole pass."""

    def __init__(self, batches, steps=None, where="fit"):
        self.batches, self.steps, self.where = batches, steps, where
        self._pass, self._seen = None, 0

    @property
    def n_steps(self):
        return self.steps if self.steps is not None else self.batches.num_batches

    def epoch(self):
        batches = self.batches
        batches.on_epoch_begin()
        total = batches.num_batches
        if self._pass is None or self.steps is None:
            self._pass, self._seen = batches.one_pass(), 0
        count = 0
        while self.steps is None or count < self.steps:
            if self.steps is not None and total is not None and self._seen >= total:
                _ran_out(self.where, count, self.steps)
                break
            try:
                batch = next(self._pass)
            except StopIteration:
                if count == 0:
                    raise DataError(f"{self.where}: the data iterator is exhausted") from None
                if self.steps is not None:
                    _ran_out(self.where, count, self.steps)
                self._pass = None
                break
            self._seen += 1
            count += 1
            yield batch
        if total is not None and self._seen >= total:
            self._pass = None
        batches.on_epoch_end()


def _ran_out(where, count, steps):
    import warnings

    warnings.warn(f"{where}: the input ran out of data after {count} of this epoch's steps_per_epoch={steps} "
                  "batches; the epoch ends early and the next starts a new pass over the data. Give at least "
                  "steps_per_epoch * epochs batches (data that repeats) to train every epoch fully.", stacklevel=4)


# -- data parallelism: each rank's share of every batch, and the values of the whole job ------------

def _share(replica, count, where):
    """This rank's slice of a global batch of `count` samples; sets the rank's share of it. Only a
    training step needs a sample on every rank; evaluation and prediction skip an empty share."""
    part, share = replica.shard(count)
    if part.start == part.stop and where == "fit":
        raise DataError(f"{where}: a batch of {count} samples cannot give each of {replica.size} ranks a sample; "
                        f"use a batch size of at least {replica.size} and at least {replica.size} samples in "
                        "the last batch (or drop it)")
    replica.fraction = share
    return part


def _empty(batch):
    leaves = [a for a in flatten(batch) if isinstance(a, np.ndarray) and a.ndim]
    return bool(leaves) and len(leaves[0]) == 0


def shard_batch(batch, where):
    """Under data parallelism, this rank's share of a batch every rank read whole (a PyDataset or
    a generator, which must give every rank the same batches); as given otherwise."""
    replica = backend.replica()
    if replica is None:
        return batch
    leaves = [a for a in flatten(batch) if a is not None]
    part = _share(replica, len(leaves[0]), where)
    return map_structure(lambda a: a[part] if isinstance(a, np.ndarray) and a.ndim else a, batch)


def _numeric_state(metric):
    """A metric's state as `{attribute: value}`: its variables, and the numbers and number arrays
    among its attributes (Keras's built-in metrics keep sums and counts there)."""
    state = {}
    for name, value in vars(metric).items():
        if isinstance(value, bool) or name.startswith("__"):
            continue
        if isinstance(value, (int, float, np.number)) or (isinstance(value, np.ndarray) and value.dtype.kind in "iuf"):
            state[name] = value
    for i, variable in enumerate(getattr(metric, "variables", [])):
        state[("variable", i)] = variable.numpy()
    return state


def _all_metrics(model):
    found, pending = [], list(model.metrics)
    while pending:
        metric = pending.pop(0)
        found.append(metric)
        pending.extend(getattr(metric, "metrics", None) or [])
    return found


def _set_state(metric, state):
    for name, value in state.items():
        if isinstance(name, tuple):
            metric.variables[name[1]].assign(value)
        else:
            setattr(metric, name, value)


def replica_logs(model, logs):
    """The logs of the whole job: every metric's state summed over the ranks (each rank adds what
    it counted since the metrics were reset), the results read, and the rank's own state put back."""
    replica = backend.replica()
    if replica is None:
        return logs
    import copy

    metrics = _all_metrics(model)
    local = [_numeric_state(m) for m in metrics]
    cache = replica.__dict__.setdefault("fresh_metric_states", {})
    fresh = []
    for metric, state in zip(metrics, local):  # the state right after reset_state, from which each rank counts
        key = (id(metric), tuple((k, np.shape(v)) for k, v in state.items()))
        if key not in cache:
            empty = copy.copy(metric)
            empty.__dict__ = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in vars(metric).items()}
            if getattr(metric, "variables", None):
                empty.__dict__["_variables"] = [copy.deepcopy(v) for v in metric.variables]
            empty.reset_state()
            cache[key] = _numeric_state(empty)
        fresh.append(cache[key])
    deltas = [np.asarray(state[k], np.float64).reshape(-1) - np.asarray(base.get(k, 0), np.float64).reshape(-1)
              for state, base in zip(local, fresh) for k in state]
    if not deltas:
        return logs
    total = replica.allreduce(np.concatenate(deltas))
    start = 0
    for metric, state, base in zip(metrics, local, fresh):
        merged = {}
        for k, value in state.items():
            n = np.size(value)
            summed = np.asarray(base.get(k, 0), np.float64).reshape(-1) + total[start:start + n]
            start += n
            merged[k] = (summed.reshape(np.shape(value)).astype(value.dtype) if isinstance(value, np.ndarray)
                         else type(value)(summed[0]))
        _set_state(metric, merged)
    try:
        merged_logs = model.get_metrics_result()
    finally:
        for metric, state in zip(metrics, local):
            _set_state(metric, state)
    return {**logs, **{k: v for k, v in merged_logs.items() if k in logs or not logs}}


def _stop_anywhere(model):
    """Under data parallelism, stop every rank when a callback stopped any (none may wait alone)."""
    replica = backend.replica()
    if replica is not None:
        model.stop_training = bool(replica.allreduce(np.array([float(bool(model.stop_training))]), op="max")[0])


def average_replica_state(model):
    """Under data parallelism, the mean over the ranks of each float weight the optimizer does not
    train (BatchNormalization's moving statistics, drawn from each rank's share unless
    synchronized), so every rank validates, evaluates and saves the same model."""
    replica = backend.replica()
    if replica is None:
        return
    weights = [w for w in model.non_trainable_weights if np.issubdtype(w.data.dtype, np.floating) and w.data.size]
    if weights:
        flat = replica.allreduce(np.concatenate([w.data.reshape(-1).astype(np.float64) for w in weights]), op="mean")
        start = 0
        for w in weights:
            w.assign(flat[start:start + w.data.size].reshape(w.data.shape).astype(w.data.dtype))
            start += w.data.size


def start_replicas(model, data):
    """Before the first step under data parallelism: one shuffling generator, and rank 0's weights
    (and optimizer state, when it has one) on every rank."""
    replica = backend.replica()
    if replica is None:
        return
    if getattr(model, "_replica_at_creation", replica) is not replica and replica.is_chief:
        import warnings

        warnings.warn(f"fit: the model {model.name!r} was created before set_distribution(); nablanet copies rank "
                      "0's weights (and optimizer state) to every rank as fit starts, so training is still exact, "
                      "but create the model after set_distribution(), as Keras expects", stacklevel=3)
    generator = backend.generator()
    generator.bit_generator.state = replica.bcast(generator.bit_generator.state)
    if not getattr(model, "built", True):
        first = next(iter(data.one_pass()), None)
        if first is not None:
            from nablanet.autodiff import no_grad

            with no_grad():
                model(unpack_x_y_sample_weight(first)[0], training=False)
    arrays = [w.data for w in model.weights]
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        arrays += [v.data for v in optimizer.variables]
    replica.broadcast_arrays([a for a in arrays if isinstance(a, np.ndarray)])


def standardize_batch(batch, where):
    """A batch as the iterable gave it -- `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` -- with
    its arrays converted, the form the steps receive (as in Keras)."""
    if isinstance(batch, (np.ndarray, Tensor, dict)):  # inputs alone, as for predict
        return standardize(batch, where)
    if not isinstance(batch, (tuple, list)) or not 1 <= len(batch) <= 3:
        raise DataError(f"{where}: each batch must be (x,), (x, y) or (x, y, sample_weight), "
                        f"got {type(batch).__name__}")
    x = standardize(batch[0], where)
    y = standardize(batch[1], where, "y") if len(batch) > 1 and batch[1] is not None else None
    sw = np.asarray(batch[2], dtype=backend.floatx()) if len(batch) > 2 and batch[2] is not None else None
    return tuple((x, y, sw)[:len(batch)]) if isinstance(batch, tuple) else [x, y, sw][:len(batch)]


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from a batch as the steps receive it (missing parts are None)."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise DataError(f"unpack_x_y_sample_weight: expected x, (x,), (x, y) or (x, y, sample_weight), "
                        f"got a tuple of {len(data)}")
    return (data + (None, None))[:3]


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch the steps receive: `x` alone, `(x, y)` or `(x, y, sample_weight)`, as Keras packs it."""
    if y is None and sample_weight is None:
        return (x,) if isinstance(x, (list, tuple)) else x  # several inputs: wrapped, so not read as (x, y)
    if y is None:
        return (x, None, sample_weight)
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def is_iterable_data(x):
    return not isinstance(x, (np.ndarray, Tensor, list, tuple, dict)) and (hasattr(x, "__iter__") or is_py_dataset(x))


def make_batches(x, y, sample_weight, batch_size, shuffle, where, steps=None, class_weight=None, one_pass=True):
    """The batches of `x` (arrays, a PyDataset or an iterable) and the number of samples (arrays only).
    `steps` limits each epoch of `evaluate`/`predict` (`one_pass`); `fit` lets `Epochs` apply it."""
    if is_py_dataset(x):
        if y is not None or sample_weight is not None:
            raise DataError(f"{where}: with a PyDataset as x, do not pass y or sample_weight; its batches hold them")
        return PyDatasetBatches(x, steps, shuffle, where), None
    if is_iterable_data(x):
        if y is not None:
            raise DataError(f"{where}: with a generator or iterable as x, do not pass y; yield (x, y) batches")
        return IterableBatches(x, steps, where), None
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer)) or batch_size <= 0):
        raise DataError(f"{where}: batch_size must be a positive integer, got {batch_size!r}")
    x = standardize(x, where)
    y = None if y is None else standardize(y, where, "y")
    sample_weight = None if sample_weight is None else _as_array(sample_weight, where, "sample_weight")
    n = check_arrays(x, y, sample_weight, where)
    if class_weight is not None and y is not None:
        weights = class_weights_to_samples(y, class_weight, where)
        sample_weight = weights if sample_weight is None else sample_weight * weights
    batches = ArrayBatches(x, y, sample_weight, batch_size or 32, shuffle, where)
    if steps is not None and one_pass:
        batches.n = min(n, steps * batches.batch_size)
    return batches, n


# -- the loops ---------------------------------------------------------------------------------

def split_validation(x, y, sample_weight, validation_split, where):
    """Keras's rule: the last `validation_split` of the arrays, taken before any shuffling."""
    if not 0 < validation_split < 1:
        raise DataError(f"{where}: validation_split must be in (0, 1), got {validation_split}")
    if is_iterable_data(x):
        raise DataError(f"{where}: validation_split needs arrays; with a generator pass validation_data")
    x, y = standardize(x, where), None if y is None else standardize(y, where, "y")
    n = num_samples(x, where)
    cut = int(n * (1 - validation_split))
    if cut == 0 or cut == n:
        raise DataError(f"{where}: validation_split={validation_split} leaves an empty split of {n} samples")
    train = slice(0, cut)
    val = slice(cut, n)
    sw_train = None if sample_weight is None else np.asarray(sample_weight)[train]
    sw_val = None if sample_weight is None else np.asarray(sample_weight)[val]
    return (take(x, train), take(y, train), sw_train), (take(x, val), take(y, val), sw_val)


def fit(model, x, y, *, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
        shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps,
        validation_batch_size, validation_freq):
    """`Model.fit` (its arguments, by keyword)."""
    from nablanet import callbacks as callbacks_module

    where = "fit"
    model._assert_compiled(where)
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = split_validation(x, y, sample_weight, validation_split, where)
    epochs, steps_per_epoch = backend.fit_limits(epochs, steps_per_epoch)  # nablanet.config's caps
    data, _ = make_batches(x, y, sample_weight, batch_size, shuffle, where, steps_per_epoch, class_weight,
                           one_pass=False)
    batches = Epochs(data, steps_per_epoch, where)
    build_metrics(model, data)
    start_replicas(model, data)
    val_batches = None
    if validation_data is not None:
        val_x, val_y, val_sw = _unpack_validation(validation_data, where)
        val_batches, _ = make_batches(val_x, val_y, val_sw, validation_batch_size or batch_size, False,
                                      "fit (validation_data)", validation_steps)
    verbose = 1 if verbose == "auto" else verbose
    callback_list = callbacks_module.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model, verbose=verbose,
        epochs=epochs, steps=batches.n_steps,
    )
    history = callback_list.history
    model.stop_training = False
    with model._fixed_structure():
        return _fit_epochs(model, batches, val_batches, callback_list, history, epochs, initial_epoch,
                           validation_freq)


def build_metrics(model, batches):
    """Build the compiled metrics before the first step, as Keras does, so that an overridden
    `train_step`/`test_step` that walks `model.metrics` sees them (array data only: an iterator
    cannot be peeked without consuming a batch; the first `compute_metrics` builds them then)."""
    compiled = model._compiled_metrics
    if compiled is None or compiled.built or not isinstance(batches, ArrayBatches) or batches.y is None:
        return
    if model._graph is not None:
        y_pred = model.output
    else:
        from nablanet.autodiff import no_grad

        with no_grad():
            y_pred = model(take(batches.x, slice(0, 1)), training=False)
    model._resolve_metrics(batches.y, y_pred)


def _fit_epochs(model, batches, val_batches, callback_list, history, epochs, initial_epoch, validation_freq):
    from nablanet.callbacks.base import pythonify_logs

    callback_list.on_train_begin()
    resume, model.resume_epoch = model.resume_epoch, None
    if resume is not None:
        initial_epoch = max(initial_epoch, resume)
    epoch_logs = {}
    for epoch in range(initial_epoch, epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        logs = {}
        for step, data in enumerate(batches.epoch()):
            callback_list.on_train_batch_begin(step)
            logs = replica_logs(model, model.train_step(data))
            callback_list.on_train_batch_end(step, logs)
            _stop_anywhere(model)
            if model.stop_training:
                break
        epoch_logs = dict(logs)  # the callbacks flatten and sort it, as Keras's do
        average_replica_state(model)
        if val_batches is not None and _due(epoch, validation_freq):
            callback_list.on_test_begin()  # validation runs the test hooks, as in Keras
            val_logs = pythonify_logs(evaluate_batches(model, val_batches, callback_list))
            callback_list.on_test_end(val_logs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        callback_list.on_epoch_end(epoch, epoch_logs)
        _stop_anywhere(model)
        if model.stop_training:
            break
    if model.optimizer is not None:
        model.optimizer.finalize_variable_values(model.trainable_weights)
    callback_list.on_train_end(pythonify_logs(epoch_logs))
    return history


def _due(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return epoch + 1 in validation_freq


def _unpack_validation(validation_data, where):
    if is_iterable_data(validation_data):
        return validation_data, None, None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise DataError(f"{where}: validation_data must be (x_val, y_val) or (x_val, y_val, sample_weight)")
    x, y = validation_data[0], validation_data[1]
    return x, y, validation_data[2] if len(validation_data) == 3 else None


def evaluate_batches(model, batches, callback_list=None):
    """Run `test_step` over every batch with fresh metrics; return the final logs."""
    model.reset_metrics()
    logs = {}
    with _fixed(model):
        for step, data in enumerate(batches.epoch()):
            if callback_list is not None:
                callback_list.on_test_batch_begin(step)
            logs = replica_logs(model, logs if _empty(data) else model.test_step(data))
            if callback_list is not None:
                callback_list.on_test_batch_end(step, logs)
    return logs


def evaluate(model, x, y, *, batch_size, verbose, sample_weight, steps, callbacks, return_dict):
    """`Model.evaluate` (its arguments, by keyword)."""
    from nablanet.callbacks.base import pythonify_logs

    model._assert_compiled("evaluate")
    batches, _ = make_batches(x, y, sample_weight, batch_size, False, "evaluate", steps)
    build_metrics(model, batches)
    callback_list = _one_pass_callbacks(model, callbacks, verbose, batches, "test")
    callback_list.on_test_begin()
    logs = evaluate_batches(model, batches, callback_list)
    callback_list.on_test_end(logs)
    logs = pythonify_logs(logs)
    return logs if return_dict else model._as_list(logs)


def predict(model, x, *, batch_size, verbose, steps, callbacks):
    """`Model.predict` (its arguments, by keyword)."""
    from nablanet.autodiff import no_grad

    batches, _ = make_batches(x, None, None, batch_size, False, "predict", steps)
    callback_list = _one_pass_callbacks(model, callbacks, verbose, batches, "predict")
    callback_list.on_predict_begin()
    outputs = []
    with no_grad(), _fixed(model):
        for step, data in enumerate(batches.epoch()):
            callback_list.on_predict_batch_begin(step)
            if _empty(data):  # this rank's share of a batch smaller than the number of ranks
                outputs.append(None)
                continue
            out = model.predict_step(data)
            outputs.append(map_structure(lambda t: t.data if isinstance(t, Tensor) else np.asarray(t), out))
            callback_list.on_predict_batch_end(step, {"outputs": out})
    callback_list.on_predict_end()
    if not outputs:
        raise DataError("predict: no data to predict on")
    replica = backend.replica()
    if replica is not None:  # every rank returns every batch's outputs, its shares in rank order
        shares = replica.allgather(outputs)
        outputs = [_concatenate([share[i] for share in shares if share[i] is not None]) for i in range(len(outputs))]
    return _concatenate(outputs)


def _fixed(model):
    """The model's fixed-structure context for a pass over the data (a Model), or none (a plain layer)."""
    fixed = getattr(model, "_fixed_structure", None)
    return fixed() if fixed is not None else contextlib.nullcontext()


def _concatenate(outputs):
    """One output structure from a list of them, each array joined along the batch axis."""
    first = outputs[0]
    if isinstance(first, (list, tuple)):
        return [np.concatenate([o[i] for o in outputs]) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: np.concatenate([o[k] for o in outputs]) for k in first}
    return np.concatenate(outputs)


def _one_pass_callbacks(model, callbacks, verbose, batches, mode):
    """The callbacks of one pass over the data (`evaluate`, `predict`), with a progress bar unless silent."""
    from nablanet import callbacks as callbacks_module

    verbose = 1 if verbose == "auto" else verbose
    return callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                         steps=batches.n_steps, mode=mode)
