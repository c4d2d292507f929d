"""Fused recurrent kernels (first order only): a whole sequence of SimpleRNN, LSTM or GRU steps.

Keras's layouts at the boundary: inputs (N, T, D), kernel (D, G*U), recurrent kernel (U, G*U),
gate blocks in Keras's order (LSTM i, f, c, o; GRU z, r, h). Inside, each step's arrays are
contiguous blocks, because NumPy walks a strided (N, U) view row by row at about four times the
cost. GRU and SimpleRNN are time-major and gate-major, (G, T, N, U): the inputs of all steps are
projected at once (one matmul per gate), then each step is one batched matmul with the recurrent
kernel and a few in-place passes. LSTM is feature-major, (T, 4U, N): each step is one matmul of
[R; W; b]^T with the column block [h; x_t; 1], which writes the four gates as (U, N) blocks (see
its section). Sigmoid gates are computed as 0.5 tanh(a / 2) + 0.5 (the halving is folded,
exactly, into a copy of the weights), so one tanh covers every gate. The backward pass computes
the per-step factors of the gate derivatives for all steps at once, then walks the steps in
reverse with a few passes and one matmul each, and forms the weight and input gradients with a
matmul or two at the end.

With the accelerator on (`accel.kernels("rnn")`, float32 and float64), the passes between the GEMMs
and NumPy's tanh run as compiled kernels instead: LSTM's forward as two fused passes a step and its
backward as one (no precomputed factor arrays); a reset_after GRU likewise, its recurrent product one
(N, U) x (U, 3U) GEMM a step each way. These NumPy passes stay the reference they are tested against.

An op returns one array, so a kernel returns every step's states: (N, T, S, U) for S states
([h, c] for LSTM, [h] otherwise), a view of its (T, S, N, U) buffer ((T, S, U, N) for LSTM), or
with `last_only` the last step's, (N, S, U) (its cotangent is then that small, not a mostly-zero
array of every step). With a mask, the step outputs come first, (N, T, 1 + S, U): a masked step
keeps the state and repeats the previous output (zeros with `zero_output`), as Keras does. The
layer slices what it returns.
"""

import functools

import numpy as np

from nablanet.autodiff import accel
from nablanet.autodiff.primitive import primitive, save_for_backward, saved_for_backward

_LSTM_ORDER = (3, 0, 1, 2)  # Keras's i, f, c, o -> o, i, f, c: sigmoid gates first, c's factors last
_LSTM_INVERSE = tuple(np.argsort(_LSTM_ORDER))  # and back


def _compiled(dtype):
    """The compiled gate kernels (`accel_rnn`) for float32/float64 steps, or None: NumPy's passes."""
    return accel.kernels("rnn") if dtype in (np.float32, np.float64) else None


def _blocks(m, u):
    """(..., G*U) columns -> (G, ..., U) gate blocks, a contiguous copy."""
    return np.ascontiguousarray(np.moveaxis(m.reshape(m.shape[:-1] + (-1, u)), -2, 0))


def _columns(blocks):
    """(G, ..., U) gate blocks -> (..., G*U) columns."""
    return np.moveaxis(blocks, 0, -2).reshape(blocks.shape[1:-1] + (-1,))


def _sigmoid_halves(blocks, sigmoids, dtype):
    """The gate blocks with the first `sigmoids` halved: sigmoid(a) = 0.5 tanh(a / 2) + 0.5."""
    scale = np.ones(len(blocks), dtype)
    scale[:sigmoids] = 0.5
    return blocks * scale.reshape((-1,) + (1,) * (blocks.ndim - 1))


def _time_major(x):
    """(N, T, D) -> (T*N, D) rows in time order."""
    n, steps, d = x.shape
    return np.ascontiguousarray(x.transpose(1, 0, 2)).reshape(steps * n, d)


def _reorder(m, u, order):
    """The columns of `m` with Keras's gate blocks of width u put in `order` (a copy)."""
    rows = m.shape[0]
    return m.reshape(rows, -1, u)[:, list(order)].reshape(rows, -1)


def _halves(gates, sigmoids, u, dtype):
    """Per-column scale: 0.5 on the first `sigmoids` gate blocks (sigmoid(a) = 0.5 tanh(a/2) + 0.5)."""
    scale = np.ones(gates * u, dtype)
    scale[:sigmoids * u] = 0.5
    return scale


def _packed(states, last_only, feature_major=False):
    """The op's output from the (T, S, N, U) states ((T, S, U, N) when `feature_major`): every
    step's, an (N, T, S, U) view, or with `last_only` the last step's, (N, S, U); no copy."""
    if feature_major:
        return states[-1].transpose(2, 0, 1) if last_only else states.transpose(3, 0, 1, 2)
    return states[-1].transpose(1, 0, 2) if last_only else states.transpose(2, 0, 1, 3)


def _project(xt, wg, bg, steps):
    """Every step's inputs times each gate's kernel, plus its bias: (G, T, N, U)."""
    xw = np.matmul(xt, wg)
    if bg is not None:
        xw += bg[:, None, :]
    return xw.reshape(len(wg), steps, -1, wg.shape[-1])


def _unpack(g, steps, feature_major=False):
    """The output cotangent, (N, T, S, U) or the last step's (N, S, U), -> per state, {step: (N, U)
    cotangent} for the steps where it is not zero; (U, N) when `feature_major`."""
    first = 0 if g.ndim == 4 else steps - 1
    g = g if g.ndim == 4 else g[:, None]
    busy = g.any(axis=(0, 3))  # (T, S)
    pick = (lambda t, j: g[:, t, j].T) if feature_major else (lambda t, j: g[:, t, j])
    return [{first + t: np.ascontiguousarray(pick(t, j)) for t in np.flatnonzero(busy[:, j])}
            for j in range(g.shape[2])]


def _previous(first, states):
    """Each step's previous state, (T, N, U): `first`, then the states shifted by one step."""
    prev = np.empty_like(states)
    prev[0] = first
    prev[1:] = states[:-1]
    return prev


def _mask_step(t, keep, outputs, states, olds, zero_output):
    """Masked rows (keep False) keep their old states; their output repeats the previous one."""
    skip = ~keep
    if outputs is not None:
        np.copyto(outputs[t], states[0][t])
        if zero_output or t == 0:
            np.copyto(outputs[t], 0, where=skip)
        else:
            np.copyto(outputs[t], outputs[t - 1], where=skip)
    for block, old in zip(states, olds):
        np.copyto(block[t], old, where=skip)


def _add(carry, block, t):
    return carry + block[t] if t in block else carry


def _masked_cotangents(keep, totals, d_out, zero_output):
    """Split the cotangents reaching a step: rows the mask keeps go to the cell (the output's to
    its h), the masked ones straight to the step before. Returns (cell, carried, output carry)."""
    cell = [np.where(keep, totals[0] + d_out, 0)] + [np.where(keep, total, 0) for total in totals[1:]]
    carried = [np.where(keep, 0, total) for total in totals]
    return cell, carried, np.zeros_like(d_out) if zero_output else np.where(keep, 0, d_out)


def _one_state_cotangents(t, dh_carry, d_out, g_h, g_out, mask, zero_output):
    """The cotangent reaching a one-state cell (GRU, SimpleRNN) at step t, and the carries."""
    dh = _add(dh_carry, g_h, t)
    if mask is None:
        return dh, dh_carry, d_out
    (dh,), (dh_carry,), d_out = _masked_cotangents(mask[:, t, None], (dh,), _add(d_out, g_out, t), zero_output)
    return dh, dh_carry, d_out


def _input_grads(xt, wg, dxg, shape):
    """Cotangents of the inputs and the kernel from the input-side gate gradients (G, T, N, U)."""
    flat = dxg.reshape(len(dxg), -1, dxg.shape[-1])
    n, steps, d = shape

    def dx():
        total = np.matmul(flat[0], wg[0].T)
        for k in range(1, len(flat)):
            total += np.matmul(flat[k], wg[k].T)
        return total.reshape(steps, n, d).transpose(1, 0, 2)

    return dx, lambda: _columns(np.matmul(xt.T, flat))


# -- LSTM ------------------------------------------------------------------------------------------
# Feature-major: each step's arrays are (features, batch). One matmul a step takes the recurrent
# and input parts together, [R; W; b]^T (4U, K) times the column block [h_{t-1}; x_t; 1] (K, N),
# and writes the four gates as contiguous (U, N) blocks, so no pass transposes them; OpenBLAS also
# spreads a (4U, K) x (K, N) product over two threads better than (N, U) x (U, 4U).


def _lstm_stack(w, r, b, u, dtype):
    """[R; W; b] (K, 4U), K = U + D (+ 1 with a bias), gate blocks in the internal order."""
    d = w.shape[0]
    stack = np.empty((u + d + (b is not None), 4 * u), dtype)
    order = list(_LSTM_ORDER)
    stack[:u].reshape(u, 4, u)[...] = r.reshape(u, 4, u)[:, order]
    stack[u:u + d].reshape(d, 4, u)[...] = w.reshape(d, 4, u)[:, order]
    if b is not None:
        stack[-1].reshape(4, u)[...] = b.reshape(4, u)[order]
    return stack


def _lstm_operands(x, h0, u, ones, dtype):
    """(K, T + 1, N): slot t holds [h_{t-1}; x_t; 1] as columns; slot T gets h_T's rows."""
    n, steps, d = x.shape
    hx = np.empty((u + d + ones, steps + 1, n), dtype)
    hx[:u, 0] = h0.T
    hx[u:u + d, :steps] = x.transpose(2, 1, 0)
    hx[u:, steps] = 0
    if ones:
        hx[u + d, :steps] = 1
    return hx


def _lstm(x, w, r, b, h0, c0, *, mask=None, zero_output=False, last_only=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    dtype = np.result_type(x, w, r)
    stack = _lstm_stack(w, r, b, u, dtype)
    at = (stack * _halves(4, 3, u, dtype)).T  # (4U, K), sigmoid gates halved: a view, BLAS transposes
    hx = _lstm_operands(x, h0, u, b is not None, dtype)
    gates = np.empty((steps, 4 * u, n), dtype)  # activated o, i, f, c~ as (U, N) blocks
    states = np.empty((steps, 3 if mask is not None else 2, u, n), dtype)  # [out,] h, c per step
    hs, cs = states[:, -2], states[:, -1]
    outs = states[:, 0] if mask is not None else None
    tanh_c = np.empty((steps, u, n), dtype)
    scratch = np.empty((u, n), dtype)
    fast = _compiled(dtype)
    half = dtype.type(0.5)
    h, c = hx[:u, 0], np.ascontiguousarray(c0.T)
    for t in range(steps):
        g = gates[t]
        np.matmul(at, hx[:, t], out=g)
        np.tanh(g, out=g)
        if fast is not None:
            fast.lstm_cell(gates, t, c, cs[t], half)
            np.tanh(cs[t], out=tanh_c[t])
            fast.lstm_hidden(gates, t, tanh_c[t], hs[t], hx[:u, t + 1])
            if mask is not None:
                _mask_step(t, mask[None, :, t], outs, (hs, cs), (h, c), zero_output)
                hx[:u, t + 1] = hs[t]
            h, c = hs[t], cs[t]
            continue
        sig = g[:3 * u]
        sig *= 0.5
        sig += 0.5
        o, i, f, cc = g.reshape(4, u, n)
        np.multiply(f, c, out=cs[t])
        np.multiply(i, cc, out=scratch)
        cs[t] += scratch
        np.tanh(cs[t], out=tanh_c[t])
        np.multiply(o, tanh_c[t], out=hs[t])
        if mask is not None:
            _mask_step(t, mask[None, :, t], outs, (hs, cs), (h, c), zero_output)
        h, c = hs[t], cs[t]
        hx[:u, t + 1] = h
    packed = _packed(states, last_only, feature_major=True)
    save_for_backward(packed, (gates, tanh_c, hx, stack, states))
    return packed


def _lstm_steps_back(gates, tanh_c, cs, c0, r_int, da, cotangents, mask, zero_output):
    """The backward steps in NumPy passes: fills da (4U, T, N); returns the cotangents of h0, c0."""
    steps, _, n = gates.shape
    u = r_int.shape[0]
    g_out, g_h, g_c = cotangents
    o, i, f, cc = (gates.reshape(steps, 4, u, n)[:, k] for k in range(4))
    # factors of every step's gate derivatives, for all steps at once, in place; da = [dh k_o, dc k_{i,f,c~}]
    k = np.empty((steps, 4 * u, n), gates.dtype)
    np.subtract(1, gates[:, :3 * u], out=k[:, :3 * u])
    k[:, :3 * u] *= gates[:, :3 * u]  # sigmoid' of o, i, f
    k[:, :u] *= tanh_c
    k[:, u:2 * u] *= cc
    k[0, 2 * u:3 * u] *= c0.T
    k[1:, 2 * u:3 * u] *= cs[:-1]
    k_c = k[:, 3 * u:]
    np.multiply(cc, cc, out=k_c)
    np.subtract(1, k_c, out=k_c)
    k_c *= i
    o_tanh = np.multiply(tanh_c, tanh_c)  # dc += dh * o_tanh, o_tanh = o (1 - tanh(c)^2)
    np.subtract(1, o_tanh, out=o_tanh)
    o_tanh *= o
    dc = np.empty((u, n), gates.dtype)
    dh_carry, dc_carry, d_out = (np.zeros((u, n), gates.dtype) for _ in range(3))
    for t in reversed(range(steps)):
        dh, dc_in = _add(dh_carry, g_h, t), _add(dc_carry, g_c, t)
        if mask is not None:
            (dh, dc_in), (dh_carry, dc_carry), d_out = _masked_cotangents(
                mask[None, :, t], (dh, dc_in), _add(d_out, g_out, t), zero_output)
        np.multiply(dh, o_tanh[t], out=dc)
        dc += dc_in
        np.multiply(dh, k[t, :u], out=da[:u, t])
        np.multiply(k[t, u:].reshape(3, u, n), dc, out=da[u:, t].reshape(3, u, n))
        new_dh = np.matmul(r_int, da[:, t])
        if mask is not None:
            dh_carry += new_dh
            dc_carry += dc * f[t]
        else:
            dh_carry, dc_carry = new_dh, dc * f[t]
    return dh_carry, dc_carry


def _lstm_vjp(g, out, x, w, r, b, h0, c0, *, mask=None, zero_output=False, last_only=False):
    gates, tanh_c, hx, stack, states = saved_for_backward(out)
    n, steps, d = x.shape
    u = r.shape[0]
    cs = states[:, -1]  # (T, U, N)
    blocks = _unpack(g, steps, feature_major=True)
    g_out, g_h, g_c = blocks if mask is not None else [{}] + blocks
    da = np.empty((4 * u, steps, n), out.dtype)  # pre-activation gradients, (4U, T*N) once flattened
    r_int = stack[:u]  # (U, 4U)
    dh_carry, dc_carry, d_out = (np.zeros((u, n), out.dtype) for _ in range(3))
    fast = _compiled(out.dtype)
    if fast is not None:
        one = out.dtype.type(1)
        c_first = np.ascontiguousarray(c0.T, out.dtype)
        dc_f = np.empty((u, n), out.dtype)  # never dc_in itself: aliased arrays stop the kernel's SIMD
        for t in reversed(range(steps)):
            dh, dc_in = _add(dh_carry, g_h, t), _add(dc_carry, g_c, t)
            if mask is not None:
                (dh, dc_in), (dh_carry, dc_carry), d_out = _masked_cotangents(
                    mask[None, :, t], (dh, dc_in), _add(d_out, g_out, t), zero_output)
            fast.lstm_cell_backward(dh, dc_in, gates, tanh_c, t, cs[t - 1] if t else c_first, da, dc_f, one)
            if mask is not None:
                dh_carry += np.matmul(r_int, da[:, t])
                dc_carry += dc_f
            else:
                np.matmul(r_int, da[:, t], out=dh_carry)
                dc_carry, dc_f = dc_f, dc_carry
    else:
        dh_carry, dc_carry = _lstm_steps_back(gates, tanh_c, cs, c0, r_int, da, (g_out, g_h, g_c),
                                              mask, zero_output)
    flat = da.reshape(4 * u, steps * n)  # every step's columns
    operands = hx[:, :steps].reshape(len(hx), steps * n)  # a view: slot T is left out

    @functools.cache
    def stacked():  # the kernel, recurrent kernel and bias gradients: one matmul, only if asked
        return _reorder(np.matmul(operands, flat.T), u, _LSTM_INVERSE)

    dx = lambda: np.matmul(stack[u:u + d], flat).reshape(d, steps, n).transpose(2, 1, 0)  # noqa: E731
    db = None if b is None else (lambda: stacked()[-1])
    return dx, lambda: stacked()[u:u + d], lambda: stacked()[:u], db, dh_carry.T, dc_carry.T


# -- GRU -------------------------------------------------------------------------------------------


def _gru(x, w, r, b, h0, *, reset_after=True, mask=None, zero_output=False, last_only=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    dtype = np.result_type(x, w, r)
    xt = _time_major(x)
    wg, rg = _blocks(w, u), _blocks(r, u)  # z, r, h
    b_in, b_rec = (b, None) if b is None or not reset_after else (b[0], b[1])
    bg = None if b_in is None else _sigmoid_halves(_blocks(b_in, u), 2, dtype)
    xw = _project(xt, _sigmoid_halves(wg, 2, dtype), bg, steps)
    rs = _sigmoid_halves(rg, 2, dtype)
    b_rec = None if b_rec is None else _sigmoid_halves(_blocks(b_rec, u), 2, dtype)[:, None, :]
    gates = np.empty((steps, 3, n, u), dtype)  # activated z, r, h~
    inner = np.empty((steps, n, u), dtype)  # reset_after: h R_h + b_h; else: r * h_prev
    states = np.empty((steps, 2 if mask is not None else 1, n, u), dtype)  # [out,] h per step
    hs, outs = states[:, -1], (states[:, 0] if mask is not None else None)
    rec = np.empty((3 if reset_after else 2, n, u), dtype)
    fast = _compiled(dtype) if reset_after else None
    if fast is not None:  # the step's recurrent product as one (N, U) x (U, 3U) GEMM
        scale = _halves(3, 2, u, dtype)
        r_cols = r * scale
        b_fast = np.zeros(3 * u, dtype) if b is None else b[1] * scale
        rec = np.empty((n, 3 * u), dtype)
        half = dtype.type(0.5)
    h = h0
    for t in range(steps):
        z = gates[t]
        if fast is not None:
            np.matmul(h, r_cols, out=rec)
            fast.gru_inputs(xw, t, rec, b_fast, gates, inner)
            np.tanh(z[:2], out=z[:2])
            fast.gru_candidate(gates, t, inner, xw, half)
            np.tanh(z[2], out=z[2])
            fast.gru_hidden(gates, t, h, hs[t])
            if mask is not None:
                _mask_step(t, mask[:, t, None], outs, (hs,), (h,), zero_output)
            h = hs[t]
            continue
        np.matmul(h, rs if reset_after else rs[:2], out=rec)
        if b_rec is not None:
            rec += b_rec
        zr = z[:2]
        np.add(xw[:2, t], rec[:2], out=zr)
        np.tanh(zr, out=zr)
        zr *= 0.5
        zr += 0.5
        candidate = z[2]
        if reset_after:
            np.copyto(inner[t], rec[2])
            np.multiply(z[1], inner[t], out=candidate)
        else:
            np.multiply(z[1], h, out=inner[t])
            np.matmul(inner[t], rs[2], out=candidate)
        candidate += xw[2, t]
        np.tanh(candidate, out=candidate)
        # h = z h_prev + (1 - z) h~ = h~ + z (h_prev - h~)
        np.subtract(h, candidate, out=hs[t])
        hs[t] *= z[0]
        hs[t] += candidate
        if mask is not None:
            _mask_step(t, mask[:, t, None], outs, (hs,), (h,), zero_output)
        h = hs[t]
    packed = _packed(states, last_only)
    save_for_backward(packed, (gates, inner, xt, wg, rg, states))
    return packed


def _gru_steps_back(gates, inner, h_prev, rg, cotangents, mask, zero_output, reset_after):
    """The backward steps in NumPy passes: the input-side gate gradients (3, T, N, U), the recurrent
    candidate's (T, N, U) and the cotangent of h0."""
    steps, _, n, u = gates.shape
    g_out, g_h = cotangents
    zg, rgate, cand = (gates[:, k] for k in range(3))
    slope = gates[:, :2] * (1 - gates[:, :2])  # sigmoid' of z and r
    k_h = (1 - zg) * (1 - cand * cand)  # d a_h = dh * k_h
    k_z = (h_prev - cand) * slope[:, 0]  # d a_z = dh * k_z
    k_r = (inner if reset_after else h_prev) * slope[:, 1]  # d a_r = (d a_h | d rh) * k_r
    dxg = np.empty((3, steps, n, u), gates.dtype)  # input-side gate gradients z, r, h
    d_rec_h = np.empty((steps, n, u), gates.dtype)  # reset_after: d (h R_h + b_h); else: d a_h
    rt = rg.transpose(0, 2, 1)
    zr_back = np.empty((2, n, u), gates.dtype)
    dh_carry, d_out = np.zeros((n, u), gates.dtype), np.zeros((n, u), gates.dtype)
    for t in reversed(range(steps)):
        dh, dh_carry, d_out = _one_state_cotangents(t, dh_carry, d_out, g_h, g_out, mask, zero_output)
        np.multiply(dh, k_h[t], out=dxg[2, t])
        np.multiply(dh, k_z[t], out=dxg[0, t])
        new_dh = dh * zg[t]
        if reset_after:
            np.multiply(dxg[2, t], k_r[t], out=dxg[1, t])
            np.multiply(dxg[2, t], rgate[t], out=d_rec_h[t])
            new_dh += np.matmul(d_rec_h[t], rt[2])
        else:
            d_rh = np.matmul(dxg[2, t], rt[2])
            np.multiply(d_rh, k_r[t], out=dxg[1, t])
            d_rh *= rgate[t]
            new_dh += d_rh
        np.matmul(dxg[:2, t], rt[:2], out=zr_back)
        new_dh += zr_back[0]
        new_dh += zr_back[1]
        if mask is not None:
            dh_carry += new_dh
        else:
            dh_carry = new_dh
    return dxg, d_rec_h, dh_carry


def _gru_steps_back_compiled(fast, gates, inner, h_prev, r, cotangents, mask, zero_output):
    """The backward steps of a reset_after GRU with the compiled gate kernel: one pass and one GEMM a
    step. Returns the input-side gate gradients (3, T, N, U), the recurrent side's (T, N, 3U: z, r,
    the candidate's recurrent part, Keras's column order) and the cotangent of h0."""
    steps, _, n, u = gates.shape
    g_out, g_h = cotangents
    dtype = gates.dtype
    one = dtype.type(1)
    dxg = np.empty((3, steps, n, u), dtype)
    d_rec = np.empty((steps, n, 3 * u), dtype)
    r_t = r.T  # a view: BLAS reads it transposed
    back = np.empty((n, u), dtype)
    direct = np.empty((n, u), dtype)
    dh_carry, d_out = np.zeros((n, u), dtype), np.zeros((n, u), dtype)
    for t in reversed(range(steps)):
        dh, dh_carry, d_out = _one_state_cotangents(t, dh_carry, d_out, g_h, g_out, mask, zero_output)
        fast.gru_cell_backward(dh, gates, t, inner, h_prev[t], dxg, d_rec, direct, one)
        np.matmul(d_rec[t], r_t, out=back)
        direct += back
        if mask is not None:
            dh_carry += direct
        else:
            dh_carry, direct = direct, dh_carry
    return dxg, d_rec, dh_carry


def _gru_vjp(g, out, x, w, r, b, h0, *, reset_after=True, mask=None, zero_output=False, last_only=False):
    gates, inner, xt, wg, rg, states = saved_for_backward(out)
    hs = states[:, -1]
    n, steps, _ = x.shape
    u = r.shape[0]
    blocks = _unpack(g, steps)
    g_out, g_h = blocks if mask is not None else [{}] + blocks
    h_prev = _previous(h0, hs)
    fast = _compiled(out.dtype) if reset_after else None
    prev_flat = h_prev.reshape(steps * n, u)
    if fast is not None:
        dxg, d_rec, dh_carry = _gru_steps_back_compiled(fast, gates, inner, h_prev, r, (g_out, g_h), mask,
                                                        zero_output)
        rec_cols = d_rec.reshape(steps * n, 3 * u)
        dr = lambda: np.matmul(prev_flat.T, rec_cols)  # noqa: E731 -- only if needed
        db = None if b is None else np.stack([_columns(dxg.reshape(3, steps * n, u).sum(axis=1)),
                                              rec_cols.sum(axis=0)])
        dx, dw = _input_grads(xt, wg, dxg, x.shape)
        return dx, dw, dr, db, dh_carry
    dxg, d_rec_h, dh_carry = _gru_steps_back(gates, inner, h_prev, rg, (g_out, g_h), mask, zero_output,
                                             reset_after)
    flat = dxg.reshape(3, steps * n, u)
    if reset_after:
        rec_flat = np.concatenate([flat[:2], d_rec_h.reshape(1, steps * n, u)])
        dr = lambda: _columns(np.matmul(prev_flat.T, rec_flat))  # noqa: E731 -- only if needed
        db = None if b is None else np.stack([_columns(flat.sum(axis=1)), _columns(rec_flat.sum(axis=1))])
    else:
        def dr():
            zr = np.matmul(prev_flat.T, flat[:2])
            hh = np.matmul(inner.reshape(steps * n, u).T, flat[2])
            return _columns(np.concatenate([zr, hh[None]]))

        db = None if b is None else _columns(flat.sum(axis=1))
    dx, dw = _input_grads(xt, wg, dxg, x.shape)
    return dx, dw, dr, db, dh_carry


# -- SimpleRNN -------------------------------------------------------------------------------------


def _simple_rnn(x, w, r, b, h0, *, activation="tanh", mask=None, zero_output=False, last_only=False):
    n, steps, _ = x.shape
    u = r.shape[0]
    xt = _time_major(x)
    xw = _project(xt, w[None], None if b is None else b[None], steps)[0]
    states = np.empty((steps, 2 if mask is not None else 1, n, u), np.result_type(x, w, r))  # [out,] h
    hs, outs = states[:, -1], (states[:, 0] if mask is not None else None)
    h = h0
    for t in range(steps):
        np.matmul(h, r, out=hs[t])
        hs[t] += xw[t]
        if activation == "tanh":
            np.tanh(hs[t], out=hs[t])
        elif activation == "relu":
            np.maximum(hs[t], 0, out=hs[t])
        if mask is not None:
            _mask_step(t, mask[:, t, None], outs, (hs,), (h,), zero_output)
        h = hs[t]
    packed = _packed(states, last_only)
    save_for_backward(packed, (xt, states))
    return packed


def _simple_rnn_vjp(g, out, x, w, r, b, h0, *, activation="tanh", mask=None, zero_output=False,
                    last_only=False):
    xt, states = saved_for_backward(out)
    hs = states[:, -1]
    n, steps, _ = x.shape
    u = r.shape[0]
    blocks = _unpack(g, steps)
    g_out, g_h = blocks if mask is not None else [{}] + blocks
    if activation == "tanh":
        slope = 1 - hs * hs
    elif activation == "relu":
        slope = (hs > 0).astype(hs.dtype)
    else:
        slope = None
    da = np.empty((1, steps, n, u), out.dtype)
    dh_carry, d_out = np.zeros((n, u), out.dtype), np.zeros((n, u), out.dtype)
    for t in reversed(range(steps)):
        dh, dh_carry, d_out = _one_state_cotangents(t, dh_carry, d_out, g_h, g_out, mask, zero_output)
        if slope is None:
            np.copyto(da[0, t], dh)
        else:
            np.multiply(dh, slope[t], out=da[0, t])
        new_dh = np.matmul(da[0, t], r.T)
        if mask is not None:
            dh_carry += new_dh
        else:
            dh_carry = new_dh
    flat = da.reshape(steps * n, u)
    prev_flat = _previous(h0, hs).reshape(steps * n, u)
    dx, dw = _input_grads(xt, w[None], da, x.shape)
    dr = lambda: np.matmul(prev_flat.T, flat)  # noqa: E731 -- only if needed
    return dx, dw, dr, None if b is None else flat.sum(axis=0), dh_carry


# fmt: off
lstm_op       = primitive("lstm",       _lstm,       _lstm_vjp,       order=1)
gru_op        = primitive("gru",        _gru,        _gru_vjp,        order=1)
simple_rnn_op = primitive("simple_rnn", _simple_rnn, _simple_rnn_vjp, order=1)
# fmt: on
