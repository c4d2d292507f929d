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

Dtypes follow Keras 3 (`standardize_dtype`, `result_type`, `is_float_dtype`, `is_int_dtype`): names
are strings, promotion walks JAX's lattice with Python `int`/`float` as weak types, and 64-bit
results come back as 32-bit, as on Keras's torch and JAX backends.
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


ALLOWED_DTYPES = (
    "bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
    "bfloat16", "float16", "float32", "float64", "complex64", "complex128", "string",
    "float8_e4m3fn", "float8_e5m2",
)
_PYTHON_DTYPES = {bool: "bool", int: "int32", float: "float32", complex: "complex64", str: "string", "int": "int32"}


def standardize_dtype(dtype):
    """The Keras name of a dtype given as a string, a NumPy dtype or type, a Python type or None.

    `None` is `floatx()`; Python's `int` is int32 and `float` is float32, as in Keras. bfloat16 and
    the float8 types are names only: NumPy cannot hold them, so an op asked for one raises.

    >>> standardize_dtype(np.float64), standardize_dtype(int), standardize_dtype(None)
    ('float64', 'int32', 'float32')
    """
    if dtype is None:
        return floatx()
    name = _PYTHON_DTYPES.get(dtype, dtype) if isinstance(dtype, (type, str)) else dtype
    if hasattr(name, "name"):  # np.dtype
        name = name.name
    elif isinstance(name, type):  # np.float32 and friends
        name = name.__name__
    elif not isinstance(name, str) and str(name).startswith("torch."):
        name = str(name)[len("torch."):]
    if name not in ALLOWED_DTYPES:
        raise ValueError(f"standardize_dtype: expected a dtype among {ALLOWED_DTYPES}, got {dtype!r}")
    return name


def is_float_dtype(dtype):
    """Whether `dtype` is a floating-point type (bfloat16 included).

    >>> is_float_dtype("float16"), is_float_dtype(int)
    (True, False)
    """
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype):
    """Whether `dtype` is a signed or unsigned integer type (bool is not).

    >>> is_int_dtype("uint8"), is_int_dtype(bool)
    (True, False)
    """
    return standardize_dtype(dtype).startswith(("int", "uint"))


# Each dtype's immediate successors in JAX's promotion lattice, which Keras adopts; "int" and
# "float" are the weak types of Python scalars, which yield to any typed array of their kind.
_LATTICE = {
    "bool": ("int",), "int": ("uint8", "int8", "complex64"), "float": ("bfloat16", "float16"),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "bfloat16": ("float32",), "float16": ("float32",), "float32": ("float64", "complex64"),
    "float64": ("complex128",), "complex64": ("complex128",), "complex128": (),
}


def _above(dtype, seen=None):
    seen = {dtype} if seen is None else seen
    for successor in _LATTICE[dtype]:
        if successor not in seen:
            seen.add(successor)
            _above(successor, seen)
    return seen


_UPPER_BOUNDS = {dtype: frozenset(_above(dtype)) for dtype in _LATTICE}
_TO_32_BITS = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def _join(names):
    """The least upper bound of `names` in the lattice."""
    try:
        common = frozenset.intersection(*(_UPPER_BOUNDS[name] for name in names))
    except KeyError as error:
        raise ValueError(f"result_type: no implicit promotion for {error.args[0]!r}; cast it explicitly") from None
    least = [c for c in common if common <= _UPPER_BOUNDS[c]]
    if len(least) != 1:
        raise ValueError(f"result_type: dtypes {tuple(names)} have no common type; cast them explicitly")
    return least[0]


def _weak_name(name):
    return "float" if "float" in name else "int" if "int" in name else name


def result_type(*dtypes):
    """The dtype an op gives for inputs of `dtypes`, by Keras 3's promotion rules.

    Python's `int` and `float` (the types, standing for scalars) are weak: they take the kind of
    the typed inputs (`uint8` with `int` stays uint8, `float16` with `float` stays float16), and
    alone they follow `floatx()`'s precision. Integers with floats give a float; signed with
    unsigned gives the next signed type that holds both. 64-bit results are narrowed to 32 bits,
    as Keras does on the torch and JAX backends; `None` and no argument at all mean `floatx()`.

    >>> result_type("int32", "float16"), result_type("uint8", int), result_type(int, float)
    ('float16', 'uint8', 'float32')
    >>> result_type("int8", "uint8"), result_type("float64")
    ('int16', 'float32')
    """
    if not dtypes:
        return floatx()
    weak = [dtype is int or dtype is float for dtype in dtypes]
    names = [standardize_dtype(dtype) for dtype in dtypes]
    if any(name.startswith("float8") for name in names):
        raise ValueError(f"result_type: float8 types never promote implicitly; cast them first, got {dtypes}")
    if len(set(names)) == 1:
        name, is_weak = names[0], all(weak)
    elif all(weak):
        name, is_weak = _join(set(names)), True
    else:
        name = _join({_weak_name(n) if w else n for n, w in zip(names, weak)})
        is_weak = name in ("int", "float")
    if is_weak and name != "bool":
        kind = "float" if "float" in name or name.startswith("bfloat") else name.rstrip("0123456789")
        name = kind + floatx()[-2:]
    return _TO_32_BITS.get(name, name)


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
    _seed[0] = int(seed)
    np.random.seed(int(seed) % 2**32)
    if _replica[0] is not None:
        _replica[0].reseed(int(seed))


_seed = [None]


def random_seed():
    """The seed `set_random_seed` was last given (None if never)."""
    return _seed[0]


def generator():
    """Return the shared `numpy.random.Generator`."""
    return _generator[0]


def noise_generator():
    """The generator dropout and other training noise draw from: the shared one, except under
    data-parallel training, where each replica draws its own masks (seeded from the seed and the
    replica's rank) while the shared generator, which shuffles the data, stays the same on all."""
    return _generator[0] if _replica[0] is None else _replica[0].noise_generator


# -- data parallelism ----------------------------------------------------------------------------
# `nablanet.distribution` installs a replica context here; the parts below it (the optimizers, the
# training loop, the layers) ask for it instead of importing the part above them.

_replica = [None]


def replica():
    """The data-parallel replica context `nablanet.distribution` installed, or None (one process).

    >>> replica() is None
    True
    """
    return _replica[0]


def set_replica(context):
    """Install (or, with None, remove) the replica context."""
    _replica[0] = context


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
    threads = n // min_chunk
    if threads >= 2:  # the thread count's lookup costs more than a small update
        threads = min(num_threads(), threads)
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


# -- session state behind `nablanet.config` and Keras's `backend` names ---------------------------

_settings = {
    "image_data_format": "channels_last",
    "interactive_logging": True,
    "max_epochs": None,
    "max_steps_per_epoch": None,
    "flash_attention": None,  # Keras's default: decide per call
    "traceback_filtering": True,
}
_uids = {}  # prefix -> the last number get_uid gave it


def backend():
    """The name of the backend, as Keras programs compare it: `"numpy"`.

    nablanet's tensors are NumPy arrays underneath, so a program's branch for Keras's numpy backend
    (NumPy functions applied to tensors) runs here; a branch for "tensorflow", "jax" or "torch"
    calls that framework on its own tensors, which nablanet's are not.

    >>> backend()
    'numpy'
    """
    return "numpy"


def image_data_format():
    """Where images keep their channels: `"channels_last"` (Keras's default) or `"channels_first"`."""
    return _settings["image_data_format"]


def set_image_data_format(data_format):
    """Set the value returned by `image_data_format()`."""
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(
            f"set_image_data_format: expected 'channels_last' or 'channels_first', got {data_format!r}"
        )
    _settings["image_data_format"] = str(data_format)


def get_uid(prefix=""):
    """1 the first time a prefix is asked for, then 2, 3, ... until `clear_session()`.

    >>> get_uid("doctest_uid"), get_uid("doctest_uid")
    (1, 2)
    """
    _uids[prefix] = _uids.get(prefix, 0) + 1
    return _uids[prefix]


def clear_session(free_memory=True):
    """Start afresh: default names count from the start again (`dense`, not `dense_7`), as do
    `get_uid`'s counters; with `free_memory`, unreachable arrays are collected now."""
    from nablanet import names

    _uids.clear()
    names.reset()
    if free_memory:
        import gc

        gc.collect()


def is_keras_tensor(x):
    """Whether `x` is a symbolic tensor of the functional API (`nablanet.symbolic.KerasTensor`).

    Looked up in `sys.modules`, not imported: `symbolic` sits above this leaf, and no KerasTensor
    exists until that module has been imported.
    """
    symbolic = sys.modules.get("nablanet.symbolic")
    return symbolic is not None and isinstance(x, symbolic.KerasTensor)


def is_interactive_logging_enabled():
    """Whether `fit`, `evaluate` and `predict` write their progress to stdout (else to the
    `nablanet` logger, at INFO level)."""
    return _settings["interactive_logging"]


def set_interactive_logging(enabled):
    """Write progress to stdout (True) or to the `nablanet` logger (False)."""
    _settings["interactive_logging"] = bool(enabled)


def max_epochs():
    """The cap `fit` puts on its `epochs` (None: no cap)."""
    return _settings["max_epochs"]


def set_max_epochs(max_epochs):
    """Cap the epochs of every `fit` (None removes the cap)."""
    _settings["max_epochs"] = _positive_or_none(max_epochs, "set_max_epochs")


def max_steps_per_epoch():
    """The cap `fit` puts on the steps of an epoch (None: no cap)."""
    return _settings["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Cap the steps of every epoch of `fit` (None removes the cap)."""
    _settings["max_steps_per_epoch"] = _positive_or_none(max_steps_per_epoch, "set_max_steps_per_epoch")


def _positive_or_none(value, where):
    if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
        raise ValueError(f"{where}: expected a positive integer or None, got {value!r}")
    return None if value is None else int(value)


def fit_limits(epochs, steps_per_epoch):
    """`epochs` and `steps_per_epoch` as `fit` runs them under `max_epochs()` and
    `max_steps_per_epoch()`, warning when a cap applies, as Keras does."""
    import warnings

    cap = _settings["max_epochs"]
    if cap and cap < epochs:
        warnings.warn(f"fit: limiting epochs to {cap} (nablanet.config.max_epochs)", stacklevel=3)
        epochs = cap
    cap = _settings["max_steps_per_epoch"]
    if cap and (not steps_per_epoch or cap < steps_per_epoch):
        warnings.warn(f"fit: limiting steps_per_epoch to {cap} (nablanet.config.max_steps_per_epoch)", stacklevel=3)
        steps_per_epoch = cap
    return epochs, steps_per_epoch


def flash_attention():
    """Keras's flash-attention switch: True, False or None (decide per call). Stored only."""
    return _settings["flash_attention"]


def set_flash_attention(enabled):
    """Store the flash-attention switch; nablanet's attention has one NumPy kernel either way."""
    _settings["flash_attention"] = enabled


def traceback_filtering():
    """Keras's traceback-filtering switch. Stored only: nablanet never filters tracebacks."""
    return _settings["traceback_filtering"]


def set_traceback_filtering(enabled):
    """Store the traceback-filtering switch (nothing else changes)."""
    _settings["traceback_filtering"] = bool(enabled)
