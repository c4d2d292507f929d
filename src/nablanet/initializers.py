"""Weight initializers with Keras's names, arguments and variance-scaling rules.

An initializer is called as `init(shape, dtype=None)` and returns a NumPy array (floatx by
default). Random ones draw from the shared generator (`nablanet.utils.set_random_seed`), or
from their own when given a `seed`, so the same seed gives the same weights.

>>> GlorotUniform(seed=0)((3, 2)).shape
(3, 2)
"""

import math

import numpy as np

from nablanet import backend, serialization
from nablanet.names import snake_case, unknown


def compute_fans(shape):
    """`(fan_in, fan_out)`: for kernels `(..., in, out)` the receptive field counts too."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class Initializer:
    """Base class: `__call__(shape, dtype=None)` and `get_config()`."""

    def __call__(self, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def _rng(self):
        seed = getattr(self, "seed", None)
        return backend.generator() if seed is None else np.random.default_rng(seed)


def _dtype(dtype):
    return np.dtype(dtype or backend.floatx())


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape, dtype=None):
        return np.zeros(shape, _dtype(dtype))


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(shape, _dtype(dtype))


class Constant(Initializer):
    """Every element `value`."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(shape, self.value, _dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal with `mean` and `stddev`."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return self._rng().normal(self.mean, self.stddev, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform on `[minval, maxval)`."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        return self._rng().uniform(self.minval, self.maxval, shape).astype(_dtype(dtype))

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, shape, stddev):
    """Normal values redrawn until all lie within two standard deviations."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2
    return z * stddev


class TruncatedNormal(Initializer):
    """Normal with `mean` and `stddev`, values beyond two stddev redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        return (self.mean + _truncated_normal(self._rng(), shape, self.stddev)).astype(_dtype(dtype))

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Variance `scale / n`, n the fan_in, the fan_out or their mean (`mode`).

    `distribution`: "truncated_normal" (stddev divided by 0.8796, the stddev of a standard
    normal truncated at 2), "untruncated_normal" or "uniform" (limit `sqrt(3 * scale / n)`).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None, input_axes=None,
                 output_axes=None):
        if input_axes is not None or output_axes is not None:  # Keras's fans over chosen axes (EinsumDense)
            raise ValueError(f"{type(self).__name__}: input_axes/output_axes are not supported, got "
                             f"{input_axes!r}, {output_axes!r}; nablanet computes fans from the last two axes")
        if scale <= 0:
            raise ValueError(f"VarianceScaling: scale must be positive, got {scale}")
        if mode not in self._MODES:
            raise ValueError(f"VarianceScaling: mode must be one of {self._MODES}, got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(
                f"VarianceScaling: distribution must be one of {self._DISTRIBUTIONS}, got {distribution!r}"
            )
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        variance = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            values = _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(variance), shape)
        else:
            limit = math.sqrt(3.0 * variance)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(_dtype(dtype))

    def get_config(self):
        return {"seed": self.seed, "scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": None, "output_axes": None}


def _variance_scaling(name, scale, mode, distribution, doc):
    def __init__(self, seed=None, input_axes=None, output_axes=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": None, "output_axes": None}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc})


GlorotUniform = _variance_scaling("GlorotUniform", 1.0, "fan_avg", "uniform",
                                  "Uniform in `+-sqrt(6 / (fan_in + fan_out))` (Glorot & Bengio, 2010).")
GlorotNormal = _variance_scaling("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                                 "Truncated normal, stddev `sqrt(2 / (fan_in + fan_out))`.")
HeUniform = _variance_scaling("HeUniform", 2.0, "fan_in", "uniform",
                              "Uniform in `+-sqrt(6 / fan_in)` (He et al., 2015).")
HeNormal = _variance_scaling("HeNormal", 2.0, "fan_in", "truncated_normal",
                             "Truncated normal, stddev `sqrt(2 / fan_in)`.")
LecunUniform = _variance_scaling("LecunUniform", 1.0, "fan_in", "uniform",
                                 "Uniform in `+-sqrt(3 / fan_in)` (LeCun et al., 1998).")
LecunNormal = _variance_scaling("LecunNormal", 1.0, "fan_in", "truncated_normal",
                                "Truncated normal, stddev `sqrt(1 / fan_in)`.")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times `gain`, from the QR decomposition of a normal matrix
    (Saxe et al., 2014); shapes beyond 2-D are flattened to `(prod(shape[:-1]), shape[-1])`."""

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError(f"Orthogonal: expected a shape with at least 2 dimensions, got {tuple(shape)}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        a = self._rng().standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))  # makes the decomposition unique, the distribution uniform
        if rows < cols:
            q = q.T
        return np.ascontiguousarray((self.gain * q).reshape(shape), dtype=_dtype(dtype))  # q.T is column-major

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """`gain` times the identity matrix (2-D shapes only)."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError(f"Identity: expected a 2-D shape, got {tuple(shape)}")
        return (self.gain * np.eye(*shape)).astype(_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_WINDOWS = {  # SciPy's symmetric windows of length m > 1 over n = 0 .. m - 1
    "hann": lambda n, m: 0.5 - 0.5 * np.cos(2 * np.pi * n / (m - 1)),
    "hamming": lambda n, m: 0.54 - 0.46 * np.cos(2 * np.pi * n / (m - 1)),
    "blackman": lambda n, m: 0.42 - 0.5 * np.cos(2 * np.pi * n / (m - 1)) + 0.08 * np.cos(4 * np.pi * n / (m - 1)),
    "bartlett": lambda n, m: 1 - np.abs(2 * n / (m - 1) - 1),
    "boxcar": lambda n, m: np.ones_like(n),
}


def get_window(window, length, periodic=False):
    """SciPy's `get_window(window, length, fftbins=periodic)` for Keras's usual windows ("hann",
    "hamming", "blackman", "bartlett", "boxcar"); SciPy itself, when installed, for the others.

    >>> get_window("hann", 5)
    array([0. , 0.5, 1. , 0.5, 0. ])
    """
    if window not in _WINDOWS:
        try:
            import scipy.signal
        except ImportError:
            raise ValueError(f"get_window: window {window!r} needs SciPy (pip install scipy); without it "
                             f"nablanet has {sorted(_WINDOWS)}") from None
        return scipy.signal.get_window(window, length, fftbins=periodic)
    if length == 1:
        return np.ones(1)
    size = length + 1 if periodic else length  # a periodic window is the symmetric one a sample longer, cut
    return _WINDOWS[window](np.arange(size, dtype=np.float64), size)[:length]


class STFT(Initializer):
    """The kernel of a convolution that computes a short-time Fourier transform: for a shape
    `(frame_length, 1, bins)`, `cos` (side "real") or `sin` (side "imag") of
    `-2 pi t f / (2 (bins - 1))`, times a window and divided by its L2 ("density") or L1
    ("spectrum") norm.

    Args:
        side: "real" or "imag".
        window: A window name (see `get_window`), its values, or None.
        scaling: "density", "spectrum" or None.
        periodic: Whether a named window is periodic (else symmetric).

    >>> STFT(window=None)((2, 1, 3), dtype="float64")[:, 0]
    array([[ 1.,  1.,  1.],
           [ 1.,  0., -1.]])
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"STFT: side must be 'real' or 'imag', got {side!r}")
        if isinstance(window, str):
            get_window(window, 1)  # an unknown name fails here, as in Keras
        if scaling not in (None, "density", "spectrum"):
            raise ValueError(f"STFT: scaling must be None, 'density' or 'spectrum', got {scaling!r}")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = shape
        dtype = _dtype(dtype)
        work = dtype.type if dtype.kind == "f" else np.float64  # in the weight's precision, as Keras rounds
        frequency = np.arange(bins, dtype=work).reshape(1, 1, bins) / work((bins - 1) * 2)
        time = np.arange(frame_length, dtype=work).reshape(frame_length, 1, 1)
        angle = (work(-2) * time) * frequency * work(np.pi)
        kernel = np.cos(angle) if self.side == "real" else np.sin(angle)
        if self.window is not None:
            window = self.window
            if isinstance(window, str):
                window = get_window(window, frame_length, self.periodic)
            window = np.asarray(window).astype(work)
            if window.shape != (frame_length,):
                raise ValueError(f"STFT: the window must have shape ({frame_length},) (frame_length), got "
                                 f"{window.shape}")
            window = window.reshape(frame_length, 1, 1)
            scale = {"density": np.sqrt(np.sum(np.square(window))), "spectrum": np.sum(np.abs(window)),
                     None: work(1)}
            kernel = kernel * window / scale[self.scaling]
        return kernel.astype(dtype)

    def get_config(self):
        window = self.window.tolist() if isinstance(self.window, np.ndarray) else self.window
        return {"side": self.side, "window": window, "periodic": self.periodic, "scaling": self.scaling}


_CLASSES = [Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
            GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal,
            Identity, STFT]


ALL = {snake_case(cls.__name__): cls for cls in _CLASSES}
ALL.update({cls.__name__: cls for cls in _CLASSES})
ALL.update({"uniform": RandomUniform, "normal": RandomNormal})  # Keras's short aliases
serialization.register_table("initializers", {cls.__name__: cls for cls in _CLASSES} | ALL, "keras.initializers")

# Keras's function-style names for the classes
constant, glorot_normal, glorot_uniform = Constant, GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
identity, lecun_normal, lecun_uniform, ones, orthogonal = Identity, LecunNormal, LecunUniform, Ones, Orthogonal
random_normal, random_uniform, truncated_normal, zeros = RandomNormal, RandomUniform, TruncatedNormal, Zeros
variance_scaling, IdentityInitializer, OrthogonalInitializer = VarianceScaling, Identity, Orthogonal
stft, STFTInitializer = STFT, STFT


def get(identifier):
    """An initializer from a name ('glorot_uniform' or 'GlorotUniform'), a config dict, an
    `Initializer` or a callable `f(shape, dtype)` (both returned as they are)."""
    if isinstance(identifier, str):
        if identifier in ALL:
            return ALL[identifier]()
        found = serialization.get_registered_object(identifier)
        if found is not None:
            return found() if isinstance(found, type) else found
        raise unknown("initializers.get", "initializer", identifier, ALL,
                      listed=sorted(k for k in ALL if k.islower()))
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"initializers.get: expected a name, a dict or a callable, got {identifier!r}")


def serialize(initializer):
    """The initializer's config in Keras 3's schema (see `nablanet.serialization`)."""
    if not hasattr(initializer, "get_config"):
        raise ValueError(f"initializers.serialize: cannot serialize {initializer!r}")
    return serialization.serialize(initializer)


def deserialize(config, custom_objects=None):
    """An initializer from its config (either schema), from the allowlist."""
    return serialization.deserialize(config, custom_objects, kind="initializers")
