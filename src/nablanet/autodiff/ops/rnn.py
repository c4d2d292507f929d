"""Fused recurrent kernels (first order only): a whole sequence of SimpleRNN, LSTM or GRU steps.

Layout: batch first, inputs (N, T, D), Keras's weights: kernel (D, G*U), recurrent kernel
(U, G*U), gates in Keras's order (LSTM i, f, c, o; GRU z, r, h). The inputs of all steps are
projected by one matmul; each step is then one matmul with the recurrent kernel and a few
in-place elementwise passes over (N, G*U) slices. The backward pass walks the steps in reverse,
keeps the gradient of every step's gate pre-activations, and forms the kernel, recurrent-kernel,
bias and input gradients with one matmul each at the end.

An op returns one array, so a kernel returns every step's states packed along the last axis:
(N, T, S*U) for S states ([h, c] for LSTM, [h] otherwise). With a mask, the step outputs come
first, (N, T, (1+S)*U): a masked step keeps the state and repeats the previous output (zeros
with `zero_output`), as Keras does. The layer slices what it returns.
"""

import numpy as np

from nablanet.autodiff.ops.nn import _load, _save
from nablanet.autodiff.primitive import primitive


def _sigmoid_(z):
    """Sigmoid in place: 1 / (1 + exp(-z)), exact in both tails (exp may overflow to inf -> 0)."""
    np.negative(z, out=z)
    with np.errstate(over="ignore"):
        np.exp(z, out=z)
    z += 1
    np.reciprocal(z, out=z)


def _times_sigmoid_slope(d, s):
    """d *= s (1 - s) in place, for s = sigmoid(a): d becomes the gradient of a."""
    d *= s
    d -= d * s


def _project(x, w, b):
    """The inputs of every step times the kernel, plus the bias: one matmul, (N, T, G*U)."""
    n, steps, d = x.shape
    xw = np.matmul(x.reshape(n * steps, d), w)
    if b is not None:
        xw += b
    return xw.reshape(n, steps, -1)


def _input_grads(x, w, b, da, *, bias_grad=None):
    """Cotangents of x, the kernel and the bias from the pre-activation gradients (N, T, G*U)."""
    n, steps, d = x.shape
    flat = da.reshape(n * steps, -1)
    dx = lambda: np.matmul(flat, w.T).reshape(x.shape)  # noqa: E731 -- only if x needs it
    dw = lambda: np.matmul(x.reshape(n * steps, d).T, flat)  # noqa: E731
    db = None if b is None else (bias_grad if bias_grad is not None else flat.sum(axis=0))
    return dx, dw, db


def _previous(packed, start, width, first):
    """Each step's previous state (N, T, width): `first`, then the packed states shifted by one."""
    n, steps, _ = packed.shape
    prev = np.empty((n, steps, width), packed.dtype)
    prev[:, 0] = first
    prev[:, 1:] = packed[:, :-1, start:start + width]
    return prev


def _mask_step(packed, t, m, out_start, state_slots, old_states, zero_output):
    """Apply step t's mask: masked rows keep their old states and repeat the previous output."""
    keep = ~m
    u = packed.shape[2] // (1 + len(state_slots))
    out = packed[:, t, out_start:out_start + u]
    np.copyto(out, packed[:, t, state_slots[0]:state_slots[0] + u])
    if zero_output or t == 0:
        out[keep[:, 0]] = 0
    else:
        np.copyto(out, packed[:, t - 1, out_start:out_start + u], where=keep)
    for start, old in zip(state_slots, old_states):
        np.copyto(packed[:, t, start:start + u], old, where=keep)


def _masked_cotangents(g, t, m, carries, out_carry, u, state_slots, zero_output):
    """Split the cotangents reaching step t into those of the cell (rows the mask keeps) and
    those carried straight to step t-1 (rows it masks). Returns (cell grads, carried grads,
    carried output grad)."""
    keep = ~m
    dout = out_carry + g[:, t, :u]
    cell, carried = [], []
    for i, (start, carry) in enumerate(zip(state_slots, carries)):
        total = carry + g[:, t, start:start + u]
        if i == 0:
            cell.append(np.where(m, total + dout, 0))
        else:
            cell.append(np.where(m, total, 0))
        carried.append(np.where(keep, total, 0))
    out_carry = np.zeros_like(dout) if zero_output else np.where(keep, dout, 0)
    return cell, carried, out_carry


# -- LSTM ------------------------------------------------------------------------------------------


def _lstm(x, w, r, b, h0, c0, *, mask=None, zero_output=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    dtype = np.result_type(x, w, r)
    xw = _project(x, w, b)
    base = u if mask is not None else 0
    packed = np.empty((n, steps, base + 2 * u), dtype)
    gates = np.empty((n, steps, 4 * u), dtype)
    tanh_c = np.empty((n, steps, u), dtype)
    z = np.empty((n, 4 * u), dtype)
    scratch = np.empty((n, u), dtype)
    h, c = h0, c0
    for t in range(steps):
        np.matmul(h, r, out=z)
        gt = gates[:, t]
        np.add(z, xw[:, t], out=gt)
        _sigmoid_(gt[:, :2 * u])
        np.tanh(gt[:, 2 * u:3 * u], out=gt[:, 2 * u:3 * u])
        _sigmoid_(gt[:, 3 * u:])
        h_new = packed[:, t, base:base + u]
        c_new = packed[:, t, base + u:]
        np.multiply(gt[:, u:2 * u], c, out=c_new)
        np.multiply(gt[:, :u], gt[:, 2 * u:3 * u], out=scratch)
        c_new += scratch
        np.tanh(c_new, out=tanh_c[:, t])
        np.multiply(gt[:, 3 * u:], tanh_c[:, t], out=h_new)
        if mask is not None:
            _mask_step(packed, t, mask[:, t, None], 0, (base, base + u), (h, c), zero_output)
        h, c = packed[:, t, base:base + u], packed[:, t, base + u:]
    _save(packed, (gates, tanh_c))
    return packed


def _lstm_vjp(g, out, x, w, r, b, h0, c0, *, mask=None, zero_output=False):
    gates, tanh_c = _load(out)
    n, steps, _ = x.shape
    u = r.shape[0]
    base = u if mask is not None else 0
    da = np.empty_like(gates)
    dh = np.zeros((n, u), out.dtype)
    dc = np.zeros((n, u), out.dtype)
    dout = np.zeros((n, u), out.dtype)
    tmp = np.empty((n, u), out.dtype)
    r_t = r.T
    for t in reversed(range(steps)):
        if mask is not None:
            (dh_t, dc_t), (dh, dc), dout = _masked_cotangents(
                g, t, mask[:, t, None], (dh, dc), dout, u, (base, base + u), zero_output)
        else:
            dh_t = dh + g[:, t, :u]
            dc_t = dc + g[:, t, u:]
        gt, tc, dat = gates[:, t], tanh_c[:, t], da[:, t]
        i, f, cc, o = gt[:, :u], gt[:, u:2 * u], gt[:, 2 * u:3 * u], gt[:, 3 * u:]
        c_prev = c0 if t == 0 else out[:, t - 1, base + u:]
        # dc_t += dh_t * o * (1 - tanh(c)^2)
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh_t
        dc_t = dc_t + tmp
        np.multiply(dc_t, cc, out=dat[:, :u])
        np.multiply(dc_t, c_prev, out=dat[:, u:2 * u])
        np.multiply(dc_t, i, out=dat[:, 2 * u:3 * u])
        np.multiply(dh_t, tc, out=dat[:, 3 * u:])
        # sigmoid' = s (1 - s) on i, f and o; tanh' = 1 - c~^2 on the candidate
        _times_sigmoid_slope(dat[:, :2 * u], gt[:, :2 * u])
        _times_sigmoid_slope(dat[:, 3 * u:], o)
        np.multiply(cc, cc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        dat[:, 2 * u:3 * u] *= tmp
        new_dc = dc_t * f
        new_dh = np.matmul(dat, r_t)
        if mask is not None:
            dh += new_dh
            dc += new_dc
        else:
            dh, dc = new_dh, new_dc
    h_prev = _previous(out, base, u, h0)
    dr = lambda: np.matmul(h_prev.reshape(n * steps, u).T, da.reshape(n * steps, -1))  # noqa: E731
    dx, dw, db = _input_grads(x, w, b, da)
    return dx, dw, dr, db, dh, dc


# -- GRU -------------------------------------------------------------------------------------------


def _gru(x, w, r, b, h0, *, reset_after=True, mask=None, zero_output=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    dtype = np.result_type(x, w, r)
    b_in, b_rec = (b, None) if b is None or not reset_after else (b[0], b[1])
    xw = _project(x, w, b_in)
    base = u if mask is not None else 0
    packed = np.empty((n, steps, base + u), dtype)
    gates = np.empty((n, steps, 3 * u), dtype)  # z, r, candidate h~ (activated)
    inner = np.empty((n, steps, u), dtype)  # reset_after: h R_h + b_h; else: r * h_prev
    rec = np.empty((n, (3 if reset_after else 2) * u), dtype)
    h = h0
    for t in range(steps):
        gt, xt = gates[:, t], xw[:, t]
        if reset_after:
            np.matmul(h, r, out=rec)
            if b_rec is not None:
                rec += b_rec
            np.add(xt[:, :2 * u], rec[:, :2 * u], out=gt[:, :2 * u])
            _sigmoid_(gt[:, :2 * u])
            np.copyto(inner[:, t], rec[:, 2 * u:])
            np.multiply(gt[:, u:2 * u], inner[:, t], out=gt[:, 2 * u:])
        else:
            np.matmul(h, r[:, :2 * u], out=rec)
            np.add(xt[:, :2 * u], rec, out=gt[:, :2 * u])
            _sigmoid_(gt[:, :2 * u])
            np.multiply(gt[:, u:2 * u], h, out=inner[:, t])
            np.matmul(inner[:, t], r[:, 2 * u:], out=gt[:, 2 * u:])
        gt[:, 2 * u:] += xt[:, 2 * u:]
        np.tanh(gt[:, 2 * u:], out=gt[:, 2 * u:])
        h_new = packed[:, t, base:]
        # h = z * h_prev + (1 - z) * h~ = h~ + z * (h_prev - h~)
        np.subtract(h, gt[:, 2 * u:], out=h_new)
        h_new *= gt[:, :u]
        h_new += gt[:, 2 * u:]
        if mask is not None:
            _mask_step(packed, t, mask[:, t, None], 0, (base,), (h,), zero_output)
        h = packed[:, t, base:]
    _save(packed, (gates, inner))
    return packed


def _gru_vjp(g, out, x, w, r, b, h0, *, reset_after=True, mask=None, zero_output=False):
    gates, inner = _load(out)
    n, steps, _ = x.shape
    u = r.shape[0]
    base = u if mask is not None else 0
    dax = np.empty_like(gates)  # gradients of the input-side pre-activations
    dar = np.empty_like(gates) if reset_after else None  # and of h R (+ b_rec), reset_after
    dh = np.zeros((n, u), out.dtype)
    dout = np.zeros((n, u), out.dtype)
    tmp = np.empty((n, u), out.dtype)
    r_t = r.T
    for t in reversed(range(steps)):
        if mask is not None:
            (dh_t,), (dh,), dout = _masked_cotangents(g, t, mask[:, t, None], (dh,), dout, u, (base,),
                                                       zero_output)
        else:
            dh_t = dh + g[:, t, :u]
        gt, dxt = gates[:, t], dax[:, t]
        z, rg, hh = gt[:, :u], gt[:, u:2 * u], gt[:, 2 * u:]
        h_prev = h0 if t == 0 else out[:, t - 1, base:]
        # candidate: d a_h = dh (1 - z) (1 - h~^2)
        np.multiply(hh, hh, out=tmp)
        np.subtract(1, tmp, out=tmp)
        np.multiply(dh_t, tmp, out=dxt[:, 2 * u:])
        dxt[:, 2 * u:] -= dxt[:, 2 * u:] * z
        # update gate: d a_z = dh (h_prev - h~) z (1 - z)
        np.subtract(h_prev, hh, out=tmp)
        np.multiply(dh_t, tmp, out=dxt[:, :u])
        new_dh = dh_t * z
        if reset_after:
            # d r = d a_h * (h R_h + b_h)
            np.multiply(dxt[:, 2 * u:], inner[:, t], out=dxt[:, u:2 * u])
        else:
            d_rh = np.matmul(dxt[:, 2 * u:], r[:, 2 * u:].T)
            np.multiply(d_rh, h_prev, out=dxt[:, u:2 * u])
            d_rh *= rg
            new_dh += d_rh
        zr = dxt[:, :2 * u]
        _times_sigmoid_slope(zr, gt[:, :2 * u])
        if reset_after:
            dart = dar[:, t]
            np.copyto(dart[:, :2 * u], zr)
            np.multiply(dxt[:, 2 * u:], rg, out=dart[:, 2 * u:])
            new_dh += np.matmul(dart, r_t)
        else:
            new_dh += np.matmul(zr, r_t[:2 * u])
        if mask is not None:
            dh += new_dh
        else:
            dh = new_dh
    h_prev = _previous(out, base, u, h0).reshape(n * steps, u)
    if reset_after:
        dr = lambda: np.matmul(h_prev.T, dar.reshape(n * steps, -1))  # noqa: E731
        bias = None if b is None else np.stack([dax.reshape(n * steps, -1).sum(axis=0),
                                                dar.reshape(n * steps, -1).sum(axis=0)])
    else:
        flat = dax.reshape(n * steps, -1)

        def dr():
            top = np.matmul(h_prev.T, flat[:, :2 * u])
            bottom = np.matmul(inner.reshape(n * steps, u).T, flat[:, 2 * u:])
            return np.concatenate([top, bottom], axis=1)

        bias = None
    dx, dw, db = _input_grads(x, w, b, dax, bias_grad=bias)
    return dx, dw, dr, db, dh


# -- SimpleRNN -------------------------------------------------------------------------------------

_ACTIVATIONS = ("tanh", "relu", "linear")


def _simple_rnn(x, w, r, b, h0, *, activation="tanh", mask=None, zero_output=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    xw = _project(x, w, b)
    base = u if mask is not None else 0
    packed = np.empty((n, steps, base + u), np.result_type(x, w, r))
    h = h0
    for t in range(steps):
        h_new = packed[:, t, base:]
        np.matmul(h, r, out=h_new)
        h_new += xw[:, t]
        if activation == "tanh":
            np.tanh(h_new, out=h_new)
        elif activation == "relu":
            np.maximum(h_new, 0, out=h_new)
        if mask is not None:
            _mask_step(packed, t, mask[:, t, None], 0, (base,), (h,), zero_output)
        h = packed[:, t, base:]
    return packed


def _simple_rnn_vjp(g, out, x, w, r, b, h0, *, activation="tanh", mask=None, zero_output=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    base = u if mask is not None else 0
    da = np.empty((n, steps, u), out.dtype)
    dh = np.zeros((n, u), out.dtype)
    dout = np.zeros((n, u), out.dtype)
    r_t = r.T
    for t in reversed(range(steps)):
        if mask is not None:
            (dh_t,), (dh,), dout = _masked_cotangents(g, t, mask[:, t, None], (dh,), dout, u, (base,),
                                                       zero_output)
        else:
            dh_t = dh + g[:, t, :u]
        h_new = out[:, t, base:]
        dat = da[:, t]
        if activation == "tanh":
            np.multiply(h_new, h_new, out=dat)
            np.subtract(1, dat, out=dat)
            dat *= dh_t
        elif activation == "relu":
            np.multiply(dh_t, h_new > 0, out=dat)
        else:
            np.copyto(dat, dh_t)
        new_dh = np.matmul(dat, r_t)
        if mask is not None:
            dh += new_dh
        else:
            dh = new_dh
    h_prev = _previous(out, base, u, h0)
    dr = lambda: np.matmul(h_prev.reshape(n * steps, u).T, da.reshape(n * steps, -1))  # noqa: E731
    dx, dw, db = _input_grads(x, w, b, da)
    return dx, dw, dr, db, dh


# fmt: off
lstm_op       = primitive("lstm",       _lstm,       _lstm_vjp,       order=1)
gru_op        = primitive("gru",        _gru,        _gru_vjp,        order=1)
simple_rnn_op = primitive("simple_rnn", _simple_rnn, _simple_rnn_vjp, order=1)
# fmt: on
