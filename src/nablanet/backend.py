"""The float policy, the shared random generator, threads, and how freed memory is kept.

Layers create weights in `floatx()` (float32 unless changed, as in Keras); the autodiff core
keeps whatever dtype it is given, so gradient checks run in float64.

Importing nablanet tunes the C allocator for the whole process (glibc on Linux only): arrays
under 32 MiB come from the heap instead of fresh mmap'd pages, and up to 256 MiB of freed heap
is kept for reuse (`mallopt` M_MMAP_THRESHOLD and M_TRIM_THRESHOLD), so a training step reuses
the memory of the step before instead of page-faulting on every new array. This also applies to
every other library in the process (PyTorch, for instance). Set the environment variable
`NABLANET_MALLOC=system` before importing nablanet to leave the allocator alone;
`MALLOC_TUNED` says whether the tuning was applied.
"""

import os
import sys

import numpy as np

_FLOAT_TYPES = ("float16", "float32", "float64")
_floatx = ["float32"]
_generator = [np.random.default_rng()]


def floatx():
    """Return the default float type as a string.

    >>> floatx()
    'float32'
    """
    return _floatx[0]


def set_floatx(value):
    """Set the default float type: one of 'float16', 'float32', 'float64'.

    >>> set_floatx("float64"); floatx()
    'float64'
    >>> set_floatx("float32")
    """
    if value not in _FLOAT_TYPES:
        raise ValueError(f"set_floatx: expected one of {_FLOAT_TYPES}, got {value!r}")
    _floatx[0] = str(value)


_epsilon = [1e-7]


def epsilon():
    """The fuzz factor losses and metrics use to keep logs and divisions finite (Keras: 1e-7).

    >>> epsilon()
    1e-07
    """
    return _epsilon[0]


def set_epsilon(value):
    """Set the fuzz factor returned by `epsilon()`."""
    if not 0 < value < 1:
        raise ValueError(f"set_epsilon: expected a value in (0, 1), got {value!r}")
    _epsilon[0] = float(value)


def set_random_seed(seed):
    """Seed the one generator that every random op in nablanet draws from.

    Also seeds NumPy's legacy global state, as Keras does, so user code calling
    `np.random.*` is reproducible too.

    >>> set_random_seed(0); a = generator().standard_normal(2)
    >>> set_random_seed(0); bool((a == generator().standard_normal(2)).all())
    True
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"set_random_seed: expected a non-negative integer, got {seed!r}")
    _generator[0] = np.random.default_rng(int(seed))
    np.random.seed(int(seed) % 2**32)


def generator():
    """Return the shared `numpy.random.Generator`."""
    return _generator[0]


def _keep_freed_memory():
    """Ask glibc to keep freed array memory for reuse instead of returning it to the OS.

    A training step frees its whole graph at the end; by default glibc hands large blocks back
    to the OS (mmap above 128 KiB, heap trimming above a few MiB), so the next step page-faults
    on every fresh array (measured in benchmarks/RESULTS.md, op chain). With this, arrays under
    32 MiB come from the heap, and up to 256 MiB of free heap is kept. Set NABLANET_MALLOC=system
    to leave malloc alone.
    """
    if os.environ.get("NABLANET_MALLOC", "").lower() == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        return bool(libc.mallopt(m_mmap_threshold, 32 << 20) and libc.mallopt(m_trim_threshold, 256 << 20))
    except (OSError, AttributeError):  # not glibc (musl, another libc): nothing to tune
        return False


MALLOC_TUNED = _keep_freed_memory()

_pool = [None, 0]  # a ThreadPoolExecutor, made on first use, and its size


def _forget_pool():
    _pool[:] = [None, 0]  # a forked child inherits the pool object but none of its threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def num_threads():
    """Threads for elementwise work on big arrays (optimizer updates): NABLANET_NUM_THREADS, else
    the CPUs this process may use, at most 4. NumPy's ufuncs release the GIL on big arrays, so
    chunks of one update run in parallel the way PyTorch's two threads run its Adam."""
    value = os.environ.get("NABLANET_NUM_THREADS")
    if value:
        return max(1, int(value))
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cpus, 4))


def parallel_chunks(fn, arrays, min_chunk=1 << 17):
    """Call `fn(*pieces)` on aligned slices of the flat, contiguous `arrays`, one slice per thread
    when they are big enough to pay for the threads (at least `min_chunk` elements each), else
    once on the whole arrays in this thread. `fn` must be elementwise: slices are independent."""
    n = arrays[0].size
    threads = min(num_threads(), n // min_chunk)
    if threads < 2:
        fn(*arrays)
        return
    if _pool[0] is None or _pool[1] != threads:
        from concurrent.futures import ThreadPoolExecutor

        _pool[0], _pool[1] = ThreadPoolExecutor(threads, thread_name_prefix="nablanet"), threads
    bounds = [n * i // threads for i in range(threads + 1)]
    pieces = [[a[lo:hi] for a in arrays] for lo, hi in zip(bounds[:-1], bounds[1:])]
    futures = [_pool[0].submit(fn, *piece) for piece in pieces[1:]]
    fn(*pieces[0])
    for future in futures:
        future.result()
