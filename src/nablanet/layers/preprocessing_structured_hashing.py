"""Hashing layers: `Hashing` and `HashedCrossing`, bins equal to Keras's.

Keras hashes with TensorFlow's string ops: `to_hash_bucket_fast` (FarmHash's Fingerprint64 of
the value's bytes, modulo the bins), `to_hash_bucket_strong` (SipHash-2-4 keyed by the salt)
and `sparse.cross_hashed` (the features' fingerprints chained with FingerprintCat64 from a fixed
key). Integers are hashed as their decimal strings, as `tf.as_string` writes them; floats are
first truncated to integers. Both hashes are written here on uint64 arrays: every value of one
byte length takes the same path, so each length is hashed in one vectorized pass.
"""

import numpy as np

from nablanet import ops
from nablanet.autodiff import Tensor
from nablanet.layers.base import Layer
from nablanet.layers.preprocessing_structured import check_sparse, encode, output_width

__all__ = ["HashedCrossing", "Hashing", "fingerprint64", "siphash"]

_U = np.uint64
_K0, _K1, _K2 = _U(0xC3A5C85C97CB3127), _U(0xB492B66FBE98F273), _U(0x9AE16A3B2F90404F)
_CROSS_KEY = 0xDECAFCAFFE  # tf.sparse.cross_hashed's default hash_key
_CAT_MUL = _U(0xC6A4A7935BD1E995)


def _ror(v, shift):
    return (v >> _U(shift)) | (v << _U(64 - shift))


def _smix(v):
    return v ^ (v >> _U(47))


def _mix16(u, v, mul):
    a = _smix((u ^ v) * mul)
    return _smix((v ^ a) * mul) * mul


class _Bytes:
    """Equal-length byte strings as a (n, length) uint8 matrix, read as little-endian words."""

    def __init__(self, rows, length):
        self.rows, self.length = rows, length

    def w64(self, at):
        return self.rows[:, at:at + 8].copy().view("<u8")[:, 0].astype(_U)

    def w32(self, at):
        return self.rows[:, at:at + 4].copy().view("<u4")[:, 0].astype(_U)


def _weak32(s, at, a, b):
    w, x, y, z = s.w64(at), s.w64(at + 8), s.w64(at + 16), s.w64(at + 24)
    a = a + w
    b = _ror(b + a + z, 21)
    c = a
    a = a + x + y
    return a + z, b + _ror(a, 44) + c


def _farm(s):
    """FarmHash Fingerprint64 (farmhashna's Hash64) of every row of `s`."""
    n = s.length
    mul = _K2 + _U(2 * n)
    if n == 0:
        return np.full(len(s.rows), _K2, dtype=_U)
    if n < 4:
        a, b, c = (s.rows[:, i].astype(_U) for i in (0, n >> 1, n - 1))
        y, z = a + (b << _U(8)), _U(n) + (c << _U(2))
        return _smix(y * _K2 ^ z * _K0) * _K2
    if n < 8:
        return _mix16(_U(n) + (s.w32(0) << _U(3)), s.w32(n - 4), mul)
    if n <= 16:
        a, b = s.w64(0) + _K2, s.w64(n - 8)
        return _mix16(_ror(b, 37) * mul + a, (_ror(a, 25) + b) * mul, mul)
    a, b = s.w64(0) * (_K1 if n <= 32 else _K2), s.w64(8)
    c, d = s.w64(n - 8) * mul, s.w64(n - 16) * _K2
    y = _ror(a + b, 43) + _ror(c, 30) + d
    z = _mix16(y, a + _ror(b + _K2, 18) + c, mul)
    if n <= 32:
        return z
    if n <= 64:
        e, f = s.w64(16) * mul, s.w64(24)
        g, h = (y + s.w64(n - 32)) * mul, (z + s.w64(n - 24)) * mul
        return _mix16(_ror(e + f, 43) + _ror(g, 30) + h, e + _ror(f + a, 18) + g, mul)
    return _farm_long(s)


def _farm_long(s):
    n, zero = s.length, np.zeros(len(s.rows), dtype=_U)
    seed = _U(81)
    x, y = seed * _K2 + s.w64(0), zero + seed * _K1 + _U(113)
    z = _smix(y * _K2 + _U(113)) * _K2
    v_lo, v_hi, w_lo, w_hi = zero, zero, zero, zero
    for at in range(0, ((n - 1) // 64) * 64, 64):
        x = _ror(x + y + v_lo + s.w64(at + 8), 37) * _K1
        y = _ror(y + v_hi + s.w64(at + 48), 42) * _K1
        x = x ^ w_hi
        y = y + v_lo + s.w64(at + 40)
        z = _ror(z + w_lo, 33) * _K1
        v_lo, v_hi = _weak32(s, at, v_hi * _K1, x + w_lo)
        w_lo, w_hi = _weak32(s, at + 32, z + w_hi, y + s.w64(at + 16))
        z, x = x, z
    mul = _K1 + ((z & _U(0xFF)) << _U(1))
    last = n - 64
    w_lo = w_lo + _U((n - 1) & 63)
    v_lo = v_lo + w_lo
    w_lo = w_lo + v_lo
    x = _ror(x + y + v_lo + s.w64(last + 8), 37) * mul
    y = _ror(y + v_hi + s.w64(last + 48), 42) * mul
    x = x ^ (w_hi * _U(9))
    y = y + v_lo * _U(9) + s.w64(last + 40)
    z = _ror(z + w_lo, 33) * mul
    v_lo, v_hi = _weak32(s, last, v_hi * mul, x + w_lo)
    w_lo, w_hi = _weak32(s, last + 32, z + w_hi, y + s.w64(last + 16))
    z, x = x, z
    return _mix16(_mix16(v_lo, w_lo, mul) + _smix(y) * _K0 + z, _mix16(v_hi, w_hi, mul) + x, mul)


def _sip_round(v0, v1, v2, v3):
    v0 = v0 + v1
    v1 = _ror(v1, 51) ^ v0  # rotating left by 13 is rotating right by 51
    v0 = _ror(v0, 32)
    v2 = v2 + v3
    v3 = _ror(v3, 48) ^ v2
    v0 = v0 + v3
    v3 = _ror(v3, 43) ^ v0
    v2 = v2 + v1
    v1 = _ror(v1, 47) ^ v2
    v2 = _ror(v2, 32)
    return v0, v1, v2, v3


def _sip(s, key):
    """SipHash-2-4 keyed by the two words of `key`, of every row of `s`."""
    n, count = s.length, len(s.rows)
    k0, k1 = _U(key[0] % 2**64), _U(key[1] % 2**64)
    v0 = np.full(count, k0 ^ _U(0x736F6D6570736575), dtype=_U)
    v1 = np.full(count, k1 ^ _U(0x646F72616E646F6D), dtype=_U)
    v2 = np.full(count, k0 ^ _U(0x6C7967656E657261), dtype=_U)
    v3 = np.full(count, k1 ^ _U(0x7465646279746573), dtype=_U)
    tail = np.zeros((count, 8), dtype=np.uint8)
    tail[:, :n % 8] = s.rows[:, n - n % 8:]
    tail[:, 7] = n & 0xFF
    blocks = [s.w64(at) for at in range(0, n - n % 8, 8)] + [_Bytes(tail, 8).w64(0)]
    for m in blocks:
        v3 = v3 ^ m
        for _ in range(2):
            v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
        v0 = v0 ^ m
    v2 = v2 ^ _U(0xFF)
    for _ in range(4):
        v0, v1, v2, v3 = _sip_round(v0, v1, v2, v3)
    return v0 ^ v1 ^ v2 ^ v3


def _as_bytes(values):
    """Each value as the bytes TensorFlow hashes: UTF-8 for text, decimal digits for integers."""
    values = np.asarray(values)
    if values.dtype.kind == "f":
        values = values.astype(np.int64)
    if values.dtype.kind in "iub":
        return [str(int(v)).encode() for v in values.reshape(-1)]
    return [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in values.reshape(-1)]


def _by_length(values, hash_rows):
    """`hash_rows` applied to the unique values grouped by byte length, spread back to `values`."""
    values = np.asarray(values)
    unique, inverse = np.unique(values.reshape(-1), return_inverse=True)
    encoded = _as_bytes(unique)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    hashes = np.empty(len(encoded), dtype=_U)
    for n in np.unique(lengths):
        where = np.flatnonzero(lengths == n)
        rows = np.frombuffer(b"".join(encoded[i] for i in where), dtype=np.uint8).reshape(len(where), int(n))
        hashes[where] = hash_rows(_Bytes(rows, int(n)))
    return hashes[inverse].reshape(values.shape)


def fingerprint64(values):
    """FarmHash Fingerprint64 of each value (strings as UTF-8, integers as decimal strings).

    Example:
        >>> hex(int(fingerprint64(np.array([""]))[0]))
        '0x9ae16a3b2f90404f'
    """
    with np.errstate(over="ignore"):
        return _by_length(values, _farm)


def siphash(values, key):
    """SipHash-2-4 of each value under `key` (two integers), as TensorFlow's strong hash.

    Example:
        >>> int(siphash(np.array(["A"]), [133, 137])[0]) % 3
        1
    """
    with np.errstate(over="ignore"):
        return _by_length(values, lambda rows: _sip(rows, key))


def _cat64(first, second):
    """FingerprintCat64: chain two 64-bit fingerprints into one."""
    result = first ^ _CAT_MUL
    result = result ^ (_smix(second * _CAT_MUL) * _CAT_MUL)
    result = _smix(result * _CAT_MUL) * _CAT_MUL
    return _smix(result)


def _numpy(inputs, layer):
    array = inputs.numpy() if hasattr(inputs, "numpy") else np.asarray(inputs)
    if array.dtype.kind not in "iubfUSO":
        raise TypeError(f"{layer}: expected integer, float or string inputs, got dtype {array.dtype}")
    return array


class Hashing(Layer):
    """Hash each value into one of `num_bins` bins (FarmHash, or SipHash keyed by `salt`).

    Example:
        >>> Hashing(num_bins=3)(np.array([["A"], ["B"], ["C"]])).numpy().ravel()
        array([1, 0, 1])
    """

    accepts_integer_inputs = True
    fixed_last_axis = False

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False, **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else None
        super().__init__(**kwargs)
        if num_bins is None or num_bins <= 0:
            raise ValueError(f"Hashing: num_bins cannot be None or non-positive, got num_bins={num_bins}")
        if output_mode not in ("int", "one_hot", "multi_hot", "count"):
            raise ValueError("Hashing: expected output_mode in ('int', 'one_hot', 'multi_hot', 'count'), "
                             f"got output_mode={output_mode!r}")
        if output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError(f"Hashing: with output_mode='int' the dtype must be 'int32' or 'int64', got {self.dtype}")
        check_sparse("Hashing", sparse, output_mode)
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError("Hashing: salt must be an integer or a pair of integers, "
                                 f"got salt={salt!r}")
        self.num_bins, self.mask_value, self.salt = num_bins, mask_value, salt
        self.output_mode, self.sparse = output_mode, sparse

    @property
    def output_dtype(self):
        return self.dtype

    def _convert(self, x):
        return x if isinstance(x, Tensor) else np.asarray(x)

    def call(self, inputs):
        values = _numpy(inputs, f"Hashing {self.name!r}")
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            try:
                mask = np.equal(values, np.asarray(self.mask_value, dtype=object if values.dtype.kind == "O" else None))
            except TypeError:  # a mask value of another kind (a string among integers) masks nothing
                mask = np.zeros(values.shape, dtype=bool)
        hashes = siphash(values, self.salt) if self.salt is not None else fingerprint64(values)
        ids = (hashes % _U(bins)).astype(np.int64)
        if mask is not None:
            ids = np.where(mask, 0, ids + 1)
        return encode(ids, self.output_mode, self.num_bins, self.dtype)

    def compute_output_shape(self, input_shape):
        return output_width(tuple(input_shape), self.output_mode, self.num_bins)

    def get_config(self):
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode, "sparse": self.sparse}


class HashedCrossing(Layer):
    """Hash the cross of two or more categorical features into `num_bins` bins.

    Example:
        >>> layer = HashedCrossing(num_bins=5)
        >>> layer((np.array(["A", "B", "A"]), np.array([101, 101, 102]))).numpy()
        array([1, 4, 3])
    """

    accepts_integer_inputs = True
    fixed_last_axis = False

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None, **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ValueError(f"HashedCrossing: expected output_mode in ('int', 'one_hot'), got {output_mode!r}")
        check_sparse("HashedCrossing", sparse, output_mode)
        self.num_bins, self.output_mode, self.sparse = num_bins, output_mode, sparse

    @property
    def output_dtype(self):
        return self.dtype

    def _convert(self, x):
        return x if isinstance(x, Tensor) else np.asarray(x)

    def call(self, inputs):
        where = f"HashedCrossing {self.name!r}"
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{where}: expected a list or tuple of at least two inputs, got {type(inputs).__name__}")
        arrays = [_numpy(x, where) for x in inputs]
        shape = arrays[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(f"{where}: expected inputs of shape (), (batch_size,) or (batch_size, 1), got {shape}")
        if any(a.shape != shape for a in arrays[1:]):
            raise ValueError(f"{where}: expected inputs of equal shape, got {[a.shape for a in arrays]}")
        if any(a.dtype.kind not in "iuUSO" for a in arrays):
            raise ValueError(f"{where}: expected integer or string inputs, got dtypes {[str(a.dtype) for a in arrays]}")
        hashed = np.full(shape, _U(_CROSS_KEY), dtype=_U)
        with np.errstate(over="ignore"):
            for a in arrays:  # integers enter the chain as their own value, strings as their fingerprint
                feature = a.astype(np.int64).astype(_U) if a.dtype.kind in "iu" else fingerprint64(a)
                hashed = _cat64(hashed, feature)
        ids = (hashed % _U(self.num_bins)).astype(np.int64)
        out = encode(ids, self.output_mode, self.num_bins, None if self.output_mode == "int" else self.dtype)
        return ops.cast(out, self.dtype)

    def compute_output_shape(self, input_shape):
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] == 1:
            return first[:-1] + (self.num_bins,)
        return first + (self.num_bins,)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}
