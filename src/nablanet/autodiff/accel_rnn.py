"""numba kernels for the recurrent primitives of `ops/rnn.py`: the per-step gate arithmetic, fused.

Imported only through `accel.kernels("rnn")`: importing this module imports numba. The GEMMs stay
NumPy's (OpenBLAS); the transcendental functions too (NumPy's SIMD tanh is many times faster than a
scalar loop), so each kernel fuses the passes between them. The backward kernels need no
transcendental function (they read the stored activations) and replace every per-step pass, and
the precomputed factor arrays, with one pass a step. Arrays arrive C-contiguous; whole-sequence
buffers come with the step index, so the inner loops walk contiguous rows. The NumPy code in
`ops/rnn.py` is the reference these are tested against.
"""

from numba import njit

_OPTIONS = {"cache": True, "nogil": True}


# -- LSTM: feature-major, each step's gates a (4U, N) block in the order o, i, f, c~ ----------------


@njit(**_OPTIONS)
def lstm_cell(gates, t, c_prev, c, half):
    """After tanh of the step's pre-activations (sigmoid gates halved): make o, i, f sigmoids in
    place (0.5 tanh + 0.5) and write the new cell state c = f c_prev + i c~."""
    u, n = c.shape
    g = gates[t]
    for j in range(u):
        for k in range(n):
            i = half * g[u + j, k] + half
            f = half * g[2 * u + j, k] + half
            g[j, k] = half * g[j, k] + half
            g[u + j, k] = i
            g[2 * u + j, k] = f
            c[j, k] = f * c_prev[j, k] + i * g[3 * u + j, k]


@njit(**_OPTIONS)
def lstm_hidden(gates, t, tanh_c, h, h_next):
    """h = o tanh(c), written to the step's state and to the next step's operand rows."""
    u, n = h.shape
    g = gates[t]
    for j in range(u):
        for k in range(n):
            value = g[j, k] * tanh_c[j, k]
            h[j, k] = value
            h_next[j, k] = value


@njit(**_OPTIONS)
def lstm_cell_backward(dh, dc_in, gates, tanh_c, t, c_prev, da, dc_next, one):
    """One step back: the pre-activation gradients da[:, t] (4U, T, N) and dc_next = dc f, where
    dc = dc_in + dh o (1 - tanh(c)^2)."""
    u, n = dh.shape
    g = gates[t]
    tc = tanh_c[t]
    for j in range(u):
        for k in range(n):
            o, i, f, cc = g[j, k], g[u + j, k], g[2 * u + j, k], g[3 * u + j, k]
            d = dh[j, k]
            s = tc[j, k]
            dc = dc_in[j, k] + d * o * (one - s * s)
            da[j, t, k] = d * s * o * (one - o)
            da[u + j, t, k] = dc * cc * i * (one - i)
            da[2 * u + j, t, k] = dc * c_prev[j, k] * f * (one - f)
            da[3 * u + j, t, k] = dc * i * (one - cc * cc)
            dc_next[j, k] = dc * f


# -- GRU (reset_after): batch-major, gates (T, 3, N, U) in the order z, r, h~; the step's recurrent
# product is one (N, 3U) block of columns z, r, h.


@njit(**_OPTIONS)
def gru_inputs(xw, t, rec, b_rec, gates, inner):
    """The step's z and r pre-activations (halved: input part + recurrent part + recurrent bias) and
    the recurrent part of the candidate, inner = h R_h + b_h."""
    _, _, n, u = gates.shape
    for a in range(n):
        for j in range(u):
            gates[t, 0, a, j] = xw[0, t, a, j] + (rec[a, j] + b_rec[j])
            gates[t, 1, a, j] = xw[1, t, a, j] + (rec[a, u + j] + b_rec[u + j])
            inner[t, a, j] = rec[a, 2 * u + j] + b_rec[2 * u + j]


@njit(**_OPTIONS)
def gru_candidate(gates, t, inner, xw, half):
    """After tanh of the halved z and r: make them sigmoids in place and write the candidate's
    pre-activation, r inner + the input part."""
    _, _, n, u = gates.shape
    for a in range(n):
        for j in range(u):
            r = half * gates[t, 1, a, j] + half
            gates[t, 0, a, j] = half * gates[t, 0, a, j] + half
            gates[t, 1, a, j] = r
            gates[t, 2, a, j] = r * inner[t, a, j] + xw[2, t, a, j]


@njit(**_OPTIONS)
def gru_hidden(gates, t, h_prev, h):
    """h = z h_prev + (1 - z) h~, as h~ + z (h_prev - h~)."""
    n, u = h.shape
    for a in range(n):
        for j in range(u):
            c = gates[t, 2, a, j]
            h[a, j] = (h_prev[a, j] - c) * gates[t, 0, a, j] + c


@njit(**_OPTIONS)
def gru_cell_backward(dh, gates, t, inner, h_prev, dxg, d_rec, dh_direct, one):
    """One step back: the input-side pre-activation gradients dxg[:, t] (3, T, N, U), the recurrent
    side's d_rec[t] (T, N, 3U: z, r and the candidate's recurrent part), and the part of dh_prev
    that bypasses the GEMMs, dh z."""
    n, u = dh.shape
    for a in range(n):
        for j in range(u):
            z, r, c = gates[t, 0, a, j], gates[t, 1, a, j], gates[t, 2, a, j]
            d = dh[a, j]
            d_cand = d * ((one - z) * (one - c * c))
            dz = d * ((h_prev[a, j] - c) * (z * (one - z)))
            dr = d_cand * (inner[t, a, j] * (r * (one - r)))
            dxg[0, t, a, j] = dz
            dxg[1, t, a, j] = dr
            dxg[2, t, a, j] = d_cand
            d_rec[t, a, j] = dz
            d_rec[t, a, u + j] = dr
            d_rec[t, a, 2 * u + j] = d_cand * r
            dh_direct[a, j] = d * z
