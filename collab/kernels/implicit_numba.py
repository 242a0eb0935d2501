"""Compiled SGD epochs for the implicit models (BPR, BCE with sampled negatives), numba, cached on disk.

One call is one epoch: a shuffled pass over the training interactions, each with `n_neg` sampled
negatives, one plain SGD step per triple (BPR) or labelled example (BCE), in place on the model's
weights (the arrays share memory with the embedding tables). A negative is a uniform item that is not
in the user's sorted exclusion list (CSR `indptr`, `indices`: the training positives and the
validation items), found by rejection with a binary search. Cost per epoch: interactions x n_neg x
factors; nothing of size users x items. Loaded through `collab.kernels` (`_compiled()`), never
imported directly, so a read-only install and `COLLAB_KERNELS=0` behave as for the dot kernels.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})


@jit
def _is_excluded(indptr, indices, u, j):
    """True when item j is in user u's sorted exclusion list indices[indptr[u]:indptr[u + 1]]."""
    lo, n = indptr[u], indptr[u + 1] - indptr[u]
    if n == 0:
        return False
    while n > 1:  # branchless halving: a conditional move per level, no mispredicted branch
        half = n >> 1
        lo = lo + half if indices[lo + half] <= j else lo
        n -= half
    return indices[lo] == j


@jit
def _draw_negative(indptr, indices, n_items, u):
    """A uniform item outside u's exclusion list (rejection; the caller ensures one exists)."""
    j = np.random.randint(0, n_items)
    while _is_excluded(indptr, indices, u, j):
        j = np.random.randint(0, n_items)
    return j


@jit
def sample_negatives(users, indptr, indices, n_items, n_neg, seed):
    """users (b,) -> (b, n_neg) int64 items, each uniform over the items outside the user's exclusion list."""
    np.random.seed(seed)
    out = np.empty((users.shape[0], n_neg), dtype=np.int64)
    for r in range(users.shape[0]):
        for c in range(n_neg):
            out[r, c] = _draw_negative(indptr, indices, n_items, users[r])
    return out


@jit
def _bpr_step(U, V, b, u, i, j, lr, reg, reg_bias):
    """One LearnBPR step on (u, i, j), in place; returns -log sigmoid(s_ui - s_uj).

    x = s_ui - s_uj, g = sigmoid(-x): u += lr (g (v_i - v_j) - reg u), v_i += lr (g u - reg v_i),
    v_j += lr (-g u - reg v_j), b_i += lr (g - reg_bias b_i), b_j += lr (-g - reg_bias b_j)."""
    k = U.shape[1]
    x = b[i] - b[j]
    for f in range(k):
        x += U[u, f] * (V[i, f] - V[j, f])
    if x >= 0:  # stable sigmoid(-x) and softplus(-x)
        e = np.exp(-x)
        g = e / (np.float32(1.0) + e)
        loss = np.log1p(e)
    else:
        e = np.exp(x)
        g = np.float32(1.0) / (np.float32(1.0) + e)
        loss = -x + np.log1p(e)
    lr32, reg32 = np.float32(lr), np.float32(reg)
    for f in range(k):
        uf, vif, vjf = U[u, f], V[i, f], V[j, f]
        U[u, f] = uf + lr32 * (g * (vif - vjf) - reg32 * uf)
        V[i, f] = vif + lr32 * (g * uf - reg32 * vif)
        V[j, f] = vjf + lr32 * (-g * uf - reg32 * vjf)
    b[i] += lr32 * (g - np.float32(reg_bias) * b[i])
    b[j] += lr32 * (-g - np.float32(reg_bias) * b[j])
    return loss


@jit
def _bce_step(U, V, b, u, i, label, lr, reg, reg_bias):
    """One SGD step of BCE-with-logits on (u, i, label), in place; returns the example's loss.

    s = u . v_i + b_i, d = sigmoid(s) - label: u -= lr (d v_i + reg u), v_i -= lr (d u + reg v_i),
    b_i -= lr (d + reg_bias b_i)."""
    k = U.shape[1]
    s = b[i]
    for f in range(k):
        s += U[u, f] * V[i, f]
    if s >= 0:
        e = np.exp(-s)
        p = np.float32(1.0) / (np.float32(1.0) + e)
        softplus = s + np.log1p(e)
    else:
        e = np.exp(s)
        p = e / (np.float32(1.0) + e)
        softplus = np.log1p(e)
    d = p - np.float32(label)
    loss = softplus - np.float32(label) * s
    lr32, reg32 = np.float32(lr), np.float32(reg)
    for f in range(k):
        uf, vf = U[u, f], V[i, f]
        U[u, f] = uf - lr32 * (d * vf + reg32 * uf)
        V[i, f] = vf - lr32 * (d * uf + reg32 * vf)
    b[i] -= lr32 * (d + np.float32(reg_bias) * b[i])
    return loss


@jit
def bpr_epoch(U, V, b, users, items, indptr, indices, n_items, n_neg, lr, reg, reg_bias, seed):
    """One BPR epoch over (users[t], items[t]) in a random order, n_neg triples each; the mean loss."""
    np.random.seed(seed)
    order = np.random.permutation(users.shape[0])
    total = 0.0
    for t in order:
        u, i = users[t], items[t]
        for _ in range(n_neg):
            j = _draw_negative(indptr, indices, n_items, u)
            total += _bpr_step(U, V, b, u, i, j, lr, reg, reg_bias)
    return total / max(users.shape[0] * n_neg, 1)


@jit
def bce_epoch(U, V, b, users, items, indptr, indices, n_items, n_neg, lr, reg, reg_bias, seed):
    """One BCE epoch: each positive (label 1), then its n_neg sampled negatives (label 0); the mean
    loss per positive."""
    np.random.seed(seed)
    order = np.random.permutation(users.shape[0])
    total = 0.0
    for t in order:
        u, i = users[t], items[t]
        total += _bce_step(U, V, b, u, i, 1, lr, reg, reg_bias)
        for _ in range(n_neg):
            j = _draw_negative(indptr, indices, n_items, u)
            total += _bce_step(U, V, b, u, j, 0, lr, reg, reg_bias)
    return total / max(users.shape[0], 1)
