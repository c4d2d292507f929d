"""C kernels for the `conv2d` and `max_pool` primitives of `ops/nn.py` (`accel_conv.c`), float32, NHWC.

Imported only through `accel.kernels("conv")`. Importing this module compiles `accel_conv.c` with
the machine's C compiler (`$CC`, else Python's, else `cc`; about a second, once per machine and
source, said once on stderr) into a cache folder (`$NABLANET_CACHE_DIR`, else
`$XDG_CACHE_HOME/nablanet`, else `~/.cache/nablanet`), or loads it from there, and raises
ImportError when there is no compiler or the compile fails: the NumPy code then runs, and stays the
reference these kernels are tested against. numba is not needed. Each function below returns None
when its kernels do not fit the call, and the caller takes the NumPy path.

- A convolution with up to 4 input channels (a first layer on images) runs directly from its input,
  without the patch matrix, bias and relu fused; its kernel and bias gradients in one pass.
- A 3x3 convolution at stride 1 with channels in multiples of 8 runs as Winograd's F(2x2, 3x3): the
  transforms in C and 16 BLAS GEMMs, 2.25 times fewer multiply-adds than the patch matrix's GEMM,
  over batches of images whose buffers stay in cache; its backward in the same domain.
- Max pooling over windows that tile the input (strides equal to the pool, no padding: Keras's
  default), forward and backward, eight channels at a time; other windows, and float64, take the
  numba kernels of `accel_nn`.
"""

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np

from nablanet.autodiff import accel

_CHUNK_TILES = 576  # Winograd tiles per batch of images (16 of W3's 13x13 ones): fewer cost the GEMMs speed
DIRECT_CHANNELS = 4  # input channels up to which the direct kernel beats unrolling and a GEMM
_MAX_PATCH = 256  # MAX_PATCH of accel_conv.c
_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "accel_conv.c")
_FLAGS = ("-O3", "-std=c99", "-shared", "-fPIC")
_TUNED = ("-march=native",)  # tried first; a compiler that lacks it builds for its default target
_ARGUMENTS = {
    "conv_direct": ("pppp" + "l" * 13 + "i", ctypes.c_int),
    "conv_direct_gradient": ("ppppp" + "l" * 13, ctypes.c_int),
    "wino_kernel": ("ppll", None),
    "wino_input": ("pp" + "l" * 8, None),
    "wino_output": ("ppp" + "l" * 6 + "i", None),
    "wino_output_gradient": ("ppp" + "l" * 6, None),
    "wino_kernel_gradient": ("ppll", None),
    "wino_input_gradient": ("pp" + "l" * 8, None),
    "max_pool_tiles": ("pp" + "l" * 8, None),
    "max_pool_tiles_gradient": ("pppp" + "l" * 8, None),
}
_TYPES = {"p": ctypes.c_void_p, "l": ctypes.c_long, "i": ctypes.c_int}


def cache_folder():
    """Where the compiled library is kept."""
    folder = os.environ.get("NABLANET_CACHE_DIR")
    if not folder:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        folder = os.path.join(base, "nablanet")
    return folder


def _compiler():
    pythons = (sysconfig.get_config_var("CC") or "").split()[:1]  # "gcc -pthread": the command is the first word
    for name in [os.environ.get("CC"), *pythons, "cc"]:
        found = name and shutil.which(name)
        if found:
            return found
    return None


def _machine():
    """What the compiled code depends on besides its source and flags: the CPU's features."""
    try:
        with open("/proc/cpuinfo") as info:
            flags = next((line for line in info if line.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {platform.processor()} {flags}"


def _build(compiler, target):
    """Compile the source into `target` atomically: a second process never loads half a file."""
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    handle, partial = tempfile.mkstemp(suffix=".so", dir=folder)
    os.close(handle)
    try:
        errors = ""
        for flags in (_FLAGS + _TUNED, _FLAGS):
            done = subprocess.run([compiler, *flags, "-o", partial, _SOURCE], capture_output=True, text=True)
            if done.returncode == 0:
                os.replace(partial, target)
                return
            errors = done.stderr.strip()
        sys.stderr.write(f"nablanet: {compiler} could not compile the accelerator's C kernels; convolutions and "
                         f"pooling run without them:\n{errors[-2000:]}\n")
        raise ImportError(f"accel_conv: {compiler} could not compile {_SOURCE}")
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _load():
    compiler = _compiler()
    if compiler is None:
        raise ImportError("accel_conv: no C compiler found ($CC, Python's CC or cc)")
    try:
        with open(_SOURCE, "rb") as source:
            key = hashlib.sha256(source.read() + repr((compiler, _FLAGS, _TUNED, _machine())).encode()).hexdigest()
    except OSError as error:  # an install without the package's data files
        raise ImportError(f"accel_conv: cannot read {_SOURCE}: {error}") from error
    target = os.path.join(cache_folder(), f"accel_conv-{key[:16]}.so")
    if not os.path.exists(target):
        accel.announce(f"compiling the accelerator's C kernels for their first use (about a second, once; "
                       f"cached in {os.path.dirname(target)})")
        try:
            _build(compiler, target)
        except OSError as error:  # an unwritable cache folder: build into a private one
            target = os.path.join(tempfile.mkdtemp(prefix="nablanet-"), os.path.basename(target))
            _build(compiler, target)
            sys.stderr.write(f"nablanet: could not write {cache_folder()} ({error}); the kernels are in {target}\n")
    try:
        library = ctypes.CDLL(target)
    except OSError as error:  # removed or damaged since it was built: NumPy runs, and says so
        sys.stderr.write(f"nablanet: could not load the accelerator's C kernels from {target} ({error}); "
                         f"convolutions and pooling run without them\n")
        raise ImportError(f"accel_conv: cannot load {target}") from error
    for name, (types, result) in _ARGUMENTS.items():
        function = getattr(library, name)
        function.argtypes = [_TYPES[t] for t in types]
        function.restype = result
    return library


_library = _load()


def _empty(shape):
    return np.empty(shape, dtype=np.float32)


def _pointer(array):
    return array.ctypes.data if array is not None else None


def _fits(*arrays):
    return all(a is None or a.dtype == np.float32 for a in arrays)


def _winograd(kernel_shape, strides, dilation):
    kh, kw, c, o = kernel_shape
    return (kh, kw) == (3, 3) and tuple(strides) == (1, 1) and tuple(dilation) == (1, 1) and c % 8 == 0 \
        and o % 8 == 0


def _direct(kernel_shape):
    kh, kw, c, _ = kernel_shape
    return c <= DIRECT_CHANNELS and kh * kw * c <= _MAX_PATCH


def _padded(x, padding):
    (top, bottom), (left, right) = padding
    if top or bottom or left or right:
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return np.ascontiguousarray(x)


def conv2d(x, w, b, out_hw, strides, padding, dilation, relu, keep=True):
    """(output, kept) of the convolution of `x` (N, H, W, C) with `w` (KH, KW, C, O) plus `b`, relu'd
    when `relu`, by a C kernel: the output (N, OH, OW, O) and, when `keep`, what its backward needs (a
    `Winograd`, or None); None when no kernel fits (dtypes other than float32, other shapes)."""
    if not _fits(x, w, b) or not (_direct(w.shape) or _winograd(w.shape, strides, dilation)):
        return None
    n, (oh, ow), o = x.shape[0], out_hw, w.shape[3]
    out = _empty((n, oh, ow, o))
    w = np.ascontiguousarray(w)
    b = None if b is None else np.ascontiguousarray(b)
    if _direct(w.shape):
        xp = _padded(x, padding)
        _library.conv_direct(_pointer(xp), _pointer(w), _pointer(b), _pointer(out), *xp.shape, *w.shape[:2],
                             o, oh, ow, *strides, *dilation, int(relu))
        return out, None
    kept = Winograd(x.shape, w, padding, out.shape)
    kept.forward(np.ascontiguousarray(x), b, out, relu, keep)
    return out, kept if keep else None


class Winograd:
    """One F(2x2, 3x3) convolution's transformed kernel `u` (16, C, O) and input tiles `v` (tiles, 16,
    C), kept for its backward, which runs in the same domain (`gradients`)."""

    def __init__(self, x_shape, w, padding, out_shape):
        self.x_shape, self.out_shape = x_shape, out_shape
        (self.top, _), (self.left, _) = padding
        self.c, self.o = w.shape[2:]
        self.th, self.tw = (out_shape[1] + 1) // 2, (out_shape[2] + 1) // 2
        self.tiles = x_shape[0] * self.th * self.tw
        self.u = _empty((16, self.c, self.o))
        _library.wino_kernel(_pointer(w), _pointer(self.u), self.c, self.o)
        self.v = None

    def _batches(self):
        """(first image, images, tiles) of each batch of images the transforms take at a time: each
        batch's tiles and products are a few MiB, still in cache when the next pass reads them."""
        n, tiles_per_image = self.x_shape[0], self.th * self.tw
        images = max(1, min(n, _CHUNK_TILES // tiles_per_image))
        for first in range(0, n, images):
            count = min(images, n - first)
            yield first, count, count * tiles_per_image

    def _tiles_of(self, first, tiles):
        start = first * self.th * self.tw
        return self.v[start:start + tiles]

    def forward(self, x, b, out, relu, keep):
        """`out` = the convolution of `x`, a batch of images at a time, the batches' buffers reused.
        The input tiles are kept whole (`v`) when `keep`, for the backward."""
        most = next(self._batches())[2]
        self.v = _empty((self.tiles, 16, self.c)) if keep else None
        v_batch = None if keep else _empty((most, 16, self.c))
        m_batch = _empty((16, most, self.o))
        for first, count, tiles in self._batches():
            v = self._tiles_of(first, tiles) if keep else v_batch[:tiles]
            m = m_batch if tiles == most else _empty((16, tiles, self.o))
            _library.wino_input(_pointer(x[first:]), _pointer(v), count, *x.shape[1:], self.th, self.tw, self.top,
                                self.left)
            np.matmul(v.transpose(1, 0, 2), self.u, out=m)  # BLAS reads v's planes in place
            _library.wino_output(_pointer(m), _pointer(b), _pointer(out[first:]), count, *out.shape[1:], self.th,
                                 self.tw, int(relu))

    def gradients(self, g, out=None):
        """(input, kernel, bias) gradients from the output gradient `g` (times relu's derivative at
        `out` when given), in one pass over the batches of images: each batch's transformed gradient
        `dm` (16 planes of (tiles, O)) feeds one GEMM per plane for the kernel gradient (summed over
        the batches) and one for the input gradient, and the adjoint transforms take them back."""
        g = np.ascontiguousarray(g, dtype=np.float32)
        out = None if out is None else np.ascontiguousarray(out)
        most = next(self._batches())[2]
        dm_batch, dv_batch = _empty((16, most, self.o)), _empty((16, most, self.c))
        du, du_batch = np.zeros((16, self.o, self.c), np.float32), _empty((16, self.o, self.c))
        db, dx = np.zeros(self.o, np.float32), _empty(self.x_shape)
        for first, count, tiles in self._batches():
            if tiles < most:  # the last batch, with fewer images
                dm_batch, dv_batch = _empty((16, tiles, self.o)), _empty((16, tiles, self.c))
            dm, dv = dm_batch, dv_batch
            _library.wino_output_gradient(_pointer(g[first:]), _pointer(None if out is None else out[first:]),
                                          _pointer(dm), count, *self.out_shape[1:], self.th, self.tw)
            # (16, O, C): the long sum over tiles runs 2x faster this way round than as (16, C, O)
            du += np.matmul(dm.transpose(0, 2, 1), self._tiles_of(first, tiles).transpose(1, 0, 2), out=du_batch)
            db += dm[5].sum(axis=0)  # plane (1, 1) of A dY A^T: the sum of each tile's four gradients
            np.matmul(dm, self.u.transpose(0, 2, 1), out=dv)
            _library.wino_input_gradient(_pointer(dv), _pointer(dx[first:]), count, *self.x_shape[1:], self.th,
                                         self.tw, self.top, self.left)
        dw = _empty((3, 3, self.o, self.c))
        _library.wino_kernel_gradient(_pointer(du), _pointer(dw), self.c, self.o)
        return dx, np.ascontiguousarray(dw.transpose(0, 1, 3, 2)), db


def conv2d_kernel_gradient(x, g, out, kernel_shape, strides, padding, dilation, bias):
    """(kernel gradient, bias gradient or None) of a convolution the direct kernel fits, `g` times
    relu's derivative at `out` when `out` is given; None when it does not fit."""
    if not _fits(x, g, out) or not _direct(kernel_shape):
        return None
    kh, kw, c, o = kernel_shape
    xp = _padded(x, padding)
    g = np.ascontiguousarray(g)
    out = None if out is None else np.ascontiguousarray(out)
    dw = _empty(kernel_shape)
    db = _empty(o) if bias else None
    _library.conv_direct_gradient(_pointer(xp), _pointer(g), _pointer(out), _pointer(dw), _pointer(db), *xp.shape,
                                  kh, kw, o, *g.shape[1:3], *strides, *dilation)
    return dw, db


def _tiles(x, pool, strides, padding):
    return x.dtype == np.float32 and tuple(pool) == tuple(strides) and padding == ((0, 0), (0, 0))


def max_pool(x, pool, strides, padding):
    """The max pooling of `x` (N, H, W, C) over windows that tile it; None for other windows and
    dtypes."""
    if not _tiles(x, pool, strides, padding):
        return None
    x = np.ascontiguousarray(x)
    n, h, w, c = x.shape
    out = _empty((n, h // pool[0], w // pool[1], c))
    _library.max_pool_tiles(_pointer(x), _pointer(out), *x.shape, *pool, *out.shape[1:3])
    return out


def max_pool_gradient(g, out, x, pool, strides, padding):
    """The input gradient of `max_pool` (each window's gradient to its first maximum); None where
    `max_pool` does not fit."""
    if not (_tiles(x, pool, strides, padding) and _fits(g, out)):
        return None
    x, out, g = (np.ascontiguousarray(a) for a in (x, out, g))
    dx = _empty(x.shape)
    _library.max_pool_tiles_gradient(_pointer(x), _pointer(out), _pointer(g), _pointer(dx), *x.shape, *pool,
                                     *out.shape[1:3])
    return dx
