"""The discrete Fourier transform as one primitive on `(real, imag)` pairs.

`fft(real, imag, axes=..., inverse=...)` returns the real and imaginary parts stacked on a new
first axis, since a primitive has one output. The DFT is linear, so its VJP is its adjoint: the
adjoint of the forward transform over `n` points is `n` times the inverse transform and the
adjoint of the inverse is the forward transform over `n`. The rule calls the same primitive, so
it is differentiable to any order.
"""

import math

import numpy as np

from nablanet.autodiff.ops.shape import _getitem
from nablanet.autodiff.primitive import primitive


def _float_dtype(*arrays):
    dtype = np.result_type(*arrays)
    return dtype if dtype.kind == "f" else np.dtype("float32")


def _fft_forward(real, imag, *, axes, inverse):
    z = np.asarray(real) + 1j * np.asarray(imag)
    out = np.fft.ifftn(z, axes=axes) if inverse else np.fft.fftn(z, axes=axes)
    return np.stack([out.real, out.imag]).astype(_float_dtype(real, imag), copy=False)


def _fft_vjp(g, out, real, imag, *, axes, inverse):
    n = math.prod(np.shape(real)[a] for a in axes)
    adjoint = fft(_getitem(g, index=0), _getitem(g, index=1), axes=axes, inverse=not inverse)
    adjoint = adjoint / n if inverse else adjoint * n
    return _getitem(adjoint, index=0), _getitem(adjoint, index=1)


fft = primitive("fft", _fft_forward, _fft_vjp)
