"""`PyDataset` (and its older name `Sequence`): batches computed by Python code, indexed by position.

`fit`, `evaluate` and `predict` take one as `x`: they read `dataset[i]` for every batch, `workers`
threads ahead at most `max_queue_size` batches, call `on_epoch_begin`/`on_epoch_end` around each
epoch and, in `fit` with `shuffle=True`, visit the batches in a new order each epoch.
`use_multiprocessing=True` is accepted and warned about: batches come from threads in this process.
"""

__all__ = ["PyDataset", "Sequence"]


class PyDataset:
    """Base class of a dataset of batches: subclass it, call `super().__init__(**kwargs)`, and
    define `__len__` (the number of batches) and `__getitem__(index)` returning `x`, `(x, y)` or
    `(x, y, sample_weight)`. An endless dataset defines `num_batches` returning None instead.

    Args:
        workers: Threads fetching batches (1: in the training loop itself).
        use_multiprocessing: Accepted for Keras's signature; nablanet uses threads and warns.
        max_queue_size: The most batches fetched ahead.

    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 2
    ...     def __getitem__(self, i):
    ...         x = np.arange(3.0) + 3 * i
    ...         return x, x ** 2
    >>> [y.tolist() for _, y in Squares()]
    [[0.0, 1.0, 4.0], [9.0, 16.0, 25.0]]
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if not isinstance(workers, int) or workers < 0:
            raise ValueError(f"PyDataset: workers must be an integer >= 0, got {workers!r}")
        if not isinstance(max_queue_size, int) or max_queue_size < 1:
            raise ValueError(f"PyDataset: max_queue_size must be an integer >= 1, got {max_queue_size!r}")
        self._workers, self._use_multiprocessing, self._max_queue_size = workers, use_multiprocessing, max_queue_size

    @property
    def workers(self):
        return getattr(self, "_workers", 1)

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        return getattr(self, "_use_multiprocessing", False)

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        return getattr(self, "_max_queue_size", 10)

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset defines __getitem__(index) returning a batch")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset defines __len__ (its number of batches) "
                                  "or a num_batches property")

    @property
    def num_batches(self):
        """The number of batches (`len(self)`); None for an endless dataset."""
        if type(self).__len__ is not PyDataset.__len__:
            return len(self)
        raise NotImplementedError(f"{type(self).__name__}: a PyDataset defines __len__ or a num_batches property")

    def __iter__(self):
        total = self.num_batches
        index = 0
        while total is None or index < total:
            yield self[index]
            index += 1

    def on_epoch_begin(self):
        """Called before each epoch (override to prepare one)."""

    def on_epoch_end(self):
        """Called after each epoch (override to reshuffle, for example)."""


Sequence = PyDataset
