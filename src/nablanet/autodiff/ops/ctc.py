"""Connectionist temporal classification (Graves et al., 2006): the loss as a fused kernel (first order).

The forward pass runs the alpha recursion in log space over the blank-extended labels, for the whole
batch at once (one step per time frame); the backward pass runs the beta recursion and returns
`-exp(alpha + beta - log_probs - log p(labels))` summed over the extended positions of each class:
the gradient with respect to the log-probabilities. Frames past a sequence's length get none.
"""

import numpy as np

from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.primitive import save_for_backward as _save
from nablanet.autodiff.primitive import saved_for_backward as _load


def _extended(labels, label_lengths, blank):
    """The labels with blanks around and between them, (B, 2L + 1), and where a skip of two is allowed."""
    batch, length = labels.shape
    ext = np.full((batch, 2 * length + 1), blank, dtype=np.int64)
    ext[:, 1::2] = labels
    positions = np.arange(2 * length + 1)
    ext = np.where(positions < (2 * label_lengths[:, None] + 1), ext, blank)
    skip = np.zeros(ext.shape, dtype=bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, skip


def _logsumexp3(a, b, c):
    top = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(top), top, 0)
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe)) + safe


def _shift(a, n):
    out = np.full_like(a, -np.inf)
    out[:, n:] = a[:, :-n] if n < a.shape[1] else out[:, n:]
    return out


def _forward(log_probs, labels, label_lengths, input_lengths, blank):
    batch, frames, _ = log_probs.shape
    ext, skip = _extended(labels, label_lengths, blank)
    emissions = np.take_along_axis(log_probs, np.broadcast_to(ext[:, None], (batch, frames, ext.shape[1])), axis=2)
    alphas = np.full((frames,) + ext.shape, -np.inf, dtype=log_probs.dtype)
    alpha = np.full(ext.shape, -np.inf, dtype=log_probs.dtype)
    alpha[:, 0] = emissions[:, 0, 0]
    alpha[:, 1] = np.where(label_lengths > 0, emissions[:, 0, 1], -np.inf)
    alphas[0] = alpha
    for t in range(1, frames):
        alpha = _logsumexp3(alpha, _shift(alpha, 1), np.where(skip, _shift(alpha, 2), -np.inf)) + emissions[:, t]
        alphas[t] = alpha
    rows = np.arange(batch)
    last = alphas[np.maximum(input_lengths - 1, 0), rows]  # (B, S) at each sequence's last frame
    end = 2 * label_lengths
    before_end = np.where(label_lengths > 0, last[rows, np.maximum(end - 1, 0)], -np.inf)
    log_likelihood = np.logaddexp(last[rows, end], before_end)
    return -log_likelihood, alphas, emissions, ext, skip


def _ctc_loss(log_probs, *, labels, label_lengths, input_lengths, blank):
    loss, alphas, emissions, ext, skip = _forward(log_probs, labels, label_lengths, input_lengths, blank)
    loss = np.asarray(loss)
    _save(loss, (alphas, emissions, ext, skip))
    return loss


def _ahead(a, n):
    out = np.full_like(a, -np.inf)
    out[:, :-n] = a[:, n:]
    return out


def _betas(emissions, skip, label_lengths, input_lengths):
    frames, batch = emissions.shape[1], emissions.shape[0]
    rows = np.arange(batch)
    betas = np.full((frames,) + skip.shape, -np.inf, dtype=emissions.dtype)
    beta = np.full(skip.shape, -np.inf, dtype=emissions.dtype)
    skip_from = np.zeros(skip.shape, dtype=bool)
    skip_from[:, :-2] = skip[:, 2:]  # position s may jump to s + 2 when s + 2 may be reached by a skip
    for t in range(frames - 1, -1, -1):
        beta = _logsumexp3(beta, _ahead(beta, 1), np.where(skip_from, _ahead(beta, 2), -np.inf)) + emissions[:, t]
        starting = input_lengths - 1 == t  # each sequence's last frame starts its recursion
        if starting.any():
            init = np.full(skip.shape, -np.inf, dtype=emissions.dtype)
            end = 2 * label_lengths
            init[rows, end] = emissions[rows, t, end]
            has_label = label_lengths > 0
            init[rows[has_label], end[has_label] - 1] = emissions[rows[has_label], t, end[has_label] - 1]
            beta = np.where(starting[:, None], init, beta)
        beta = np.where((t < input_lengths)[:, None], beta, -np.inf)
        betas[t] = beta
    return betas


def _ctc_loss_vjp(g, out, log_probs, *, labels, label_lengths, input_lengths, blank):
    saved = _load(out)
    if saved is None:  # the forward's alphas are gone: run it again
        saved = _forward(log_probs, labels, label_lengths, input_lengths, blank)[1:]
    alphas, emissions, ext, skip = saved
    betas = _betas(emissions, skip, label_lengths, input_lengths)
    # occupancy of extended position s at frame t, (T, B, S); rows with an impossible alignment get 0
    log_likelihood = np.where(np.isfinite(out), -out, 0)
    with np.errstate(invalid="ignore"):
        gamma = np.exp(alphas + betas - np.transpose(emissions, (1, 0, 2)) - log_likelihood[None, :, None])
    gamma = np.where(np.isfinite(gamma), gamma, 0)
    grad = np.zeros(log_probs.shape, dtype=log_probs.dtype)
    frames, batch, positions = gamma.shape
    index = np.broadcast_to(ext[:, None, :], (batch, frames, positions))
    batch_ids = np.arange(batch)[:, None, None]
    frame_ids = np.arange(frames)[None, :, None]
    np.add.at(grad, (batch_ids, frame_ids, index), -np.transpose(gamma, (1, 0, 2)))
    grad *= np.asarray(g)[:, None, None]
    return (grad,)


ctc_loss_op = primitive("ctc_loss", _ctc_loss, _ctc_loss_vjp, order=1)
