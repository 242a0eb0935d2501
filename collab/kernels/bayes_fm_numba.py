"""Gibbs sampling for a Bayesian factorization machine over relation blocks (numba, cached on disk).

The model (Rendle, "Factorization Machines with libFM", ACM TIST 2012; Freudenthaler, Schmidt-Thieme
and Rendle, "Bayesian Factorization Machines", NIPS workshop 2011) predicts a rating from a sparse
feature row x as

    y(x) = w0 + sum_j w_j x_j + sum_f 0.5 * [(sum_j x_j v_jf)^2 - sum_j x_j^2 v_jf^2]

with Gaussian priors on w and v whose means and precisions have Normal-Gamma hyperpriors per feature
group, and Gaussian noise of precision alpha. Each rating's row is the concatenation of a few *blocks*
(here: the user's features, the item's features): ratings that share a user share that block's row,
so sums over ratings are computed once per block row (the "relation block" idea of Rendle, "Scaling
Factorization Machines to Relational Data", VLDB 2013). One parameter at a time is drawn from its
Gaussian conditional (the model is linear in each single parameter), which needs, per block row r and
factor f, the count of ratings, the sums of the other blocks' factor value O and of O^2, and the sums of
the residual e and e*O; a draw updates these in closed form, so a sweep costs O(ratings x blocks +
nonzeros) per factor, never ratings x nonzeros.

Layout: all block rows share one numbering (block b's rows are row_off[b]..row_off[b+1]), all features
another (block b's features are feat_off[b]..feat_off[b+1]); `row_map[b, n]` is rating n's row in
block b. The block matrix is given both as CSR (rows -> features) and CSC (features -> rows).
Loaded through `collab.kernels`, never imported directly.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True, error_model="numpy")

ALPHA_0 = 1.0  # Gamma(ALPHA_0 / 2, BETA_0 / 2) prior on the noise precision (libFM's choice)
BETA_0 = 1.0
GAMMA_0 = 1.0  # the hyperprior mean's pseudo-count (mu ~ N(0, 1 / (GAMMA_0 * lambda)))


@jit
def _draw_hyper(values, lo, hi, groups, n_groups, mu, lam):
    """Draw each group's (lambda, mu) from their Normal-Gamma conditional given values[lo:hi]."""
    count = np.zeros(n_groups)
    total = np.zeros(n_groups)
    for j in range(lo, hi):
        count[groups[j]] += 1.0
        total[groups[j]] += values[j]
    square = np.zeros(n_groups)
    for j in range(lo, hi):
        d = values[j] - mu[groups[j]]
        square[groups[j]] += d * d
    for g in range(n_groups):
        if count[g] == 0:
            continue
        shape = (ALPHA_0 + count[g] + 1.0) / 2.0
        rate = (BETA_0 + square[g] + GAMMA_0 * mu[g] * mu[g]) / 2.0
        lam[g] = np.random.gamma(shape, 1.0 / rate)
        prec = (count[g] + GAMMA_0) * lam[g]
        mu[g] = total[g] / (count[g] + GAMMA_0) + np.random.standard_normal() / np.sqrt(prec)


@jit
def _open_rows(lo, hi, q_f, s_f, s1, s2, e0, e1, old_q, old_s):
    """Zero rows lo..hi's sums and remember their factor values before this block's draws."""
    for r in range(lo, hi):
        s1[r] = 0.0
        s2[r] = 0.0
        e0[r] = 0.0
        e1[r] = 0.0
        old_q[r] = q_f[r]
        old_s[r] = s_f[r]


@jit
def gibbs(
    n_iter,
    first,
    n_burn,
    thin,
    seed,
    y,
    row_map,
    row_off,
    feat_off,
    row_ptr,
    row_col,
    row_val,
    col_ptr,
    col_row,
    col_val,
    feat_group,
    n_groups,
    w0,
    w,
    v,
    bias_sum,
    kept,
    kept_start,
    fit_sum,
    extra_map,
    extra_sum,
):
    """Run `n_iter` Gibbs sweeps (numbered first, first + 1, ... in the chain) in place on (w0[0], w,
    v); return the number of factor samples in `kept` afterwards.

    y (n,) float64 ratings; row_map (n_blocks, n) int64; w (n_features,), v (n_features, rank) float64,
    the chain's state (all of it: the noise and prior hyperparameters are drawn first in each sweep, so a
    chain continues exactly across calls). From sweep `n_burn` on, every sample adds to `bias_sum`
    (n_rows + 1,): per block row its linear part plus its own pairwise part (last entry: w0), and every
    `thin`-th sample's per-row factor sums go to `kept[k]` (max_kept, n_rows, rank) float32, from
    k = kept_start while k < max_kept. From sweep `n_burn` on, every sample's prediction of each training
    rating is added to `fit_sum` (n,), and of each extra rating to `extra_sum` (m,): `extra_map`
    (n_blocks, m) int64 is their row in each block, -1 for none (that block's terms are left out),
    so the running posterior means are known without building the predictor."""
    np.random.seed(seed)
    n = y.shape[0]
    n_blocks = row_map.shape[0]
    n_rows = row_off[n_blocks]
    n_feat = w.shape[0]
    rank = v.shape[1]
    count = np.zeros(n_rows)
    for b in range(n_blocks):
        for i in range(n):
            count[row_map[b, i]] += 1.0
    lin = np.zeros(n_rows)
    q = np.zeros((rank, n_rows))  # factor-major: one factor's values are contiguous
    s = np.zeros((rank, n_rows))
    vt = np.ascontiguousarray(v.T)  # (rank, n_features)
    for r in range(n_rows):
        for k in range(row_ptr[r], row_ptr[r + 1]):
            j, x = row_col[k], row_val[k]
            lin[r] += x * w[j]
            for f in range(rank):
                q[f, r] += x * vt[f, j]
                s[f, r] += x * x * vt[f, j] * vt[f, j]
    e = np.empty(n)  # residual y - prediction
    for i in range(n):
        pred = w0[0]
        for f in range(rank):
            total = 0.0
            square = 0.0
            for b in range(n_blocks):
                r = row_map[b, i]
                total += q[f, r]
                square += s[f, r]
            pred += 0.5 * (total * total - square)
        for b in range(n_blocks):
            pred += lin[row_map[b, i]]
        e[i] = y[i] - pred
    mu_w = np.zeros(n_groups)
    lam_w = np.ones(n_groups)
    mu_v = np.zeros((rank, n_groups))
    lam_v = np.ones((rank, n_groups))
    s1 = np.zeros(n_rows)
    s2 = np.zeros(n_rows)
    e0 = np.zeros(n_rows)
    e1 = np.zeros(n_rows)
    old_q = np.zeros(n_rows)
    old_s = np.zeros(n_rows)
    delta = np.zeros(n_rows)
    shift = np.zeros(n_rows)
    const = np.zeros(n_rows)
    big_q = np.zeros(n)
    n_kept = kept_start
    for it in range(n_iter):
        # noise precision, then the hyperparameters of every group
        sse = 0.0
        for i in range(n):
            sse += e[i] * e[i]
        alpha = np.random.gamma((ALPHA_0 + n) / 2.0, 2.0 / (BETA_0 + sse))
        _draw_hyper(w, 0, n_feat, feat_group, n_groups, mu_w, lam_w)
        for f in range(rank):
            _draw_hyper(vt[f], 0, n_feat, feat_group, n_groups, mu_v[f], lam_v[f])
        # global bias (flat prior)
        total = 0.0
        for i in range(n):
            total += e[i]
        new = w0[0] + total / n + np.random.standard_normal() / np.sqrt(alpha * n)
        step = new - w0[0]
        w0[0] = new
        for i in range(n):
            e[i] -= step
        # linear weights, block by block
        for b in range(n_blocks):
            lo, hi = row_off[b], row_off[b + 1]
            for r in range(lo, hi):
                e0[r] = 0.0
                delta[r] = 0.0
            for i in range(n):
                e0[row_map[b, i]] += e[i]
            for j in range(feat_off[b], feat_off[b + 1]):
                h2 = 0.0
                eh = 0.0
                for k in range(col_ptr[j], col_ptr[j + 1]):
                    r, x = col_row[k], col_val[k]
                    h2 += count[r] * x * x
                    eh += x * e0[r]
                g = feat_group[j]
                prec = alpha * h2 + lam_w[g]
                mean = (alpha * (eh + w[j] * h2) + mu_w[g] * lam_w[g]) / prec
                new = mean + np.random.standard_normal() / np.sqrt(prec)
                step = new - w[j]
                w[j] = new
                for k in range(col_ptr[j], col_ptr[j + 1]):
                    r, x = col_row[k], col_val[k]
                    e0[r] -= step * x * count[r]
                    delta[r] += step * x
            for r in range(lo, hi):
                lin[r] += delta[r]
            for i in range(n):
                e[i] -= delta[row_map[b, i]]
        # factors: one factor at a time, block by block. Per factor, one pass over the ratings sums
        # block 0's statistics; after block b's draws, one pass applies them to the residuals and sums
        # block b + 1's statistics (the order of the plain two-pass form, fused), and a last pass applies
        # the last block's.
        for f in range(rank):
            _open_rows(row_off[0], row_off[1], q[f], s[f], s1, s2, e0, e1, old_q, old_s)
            for i in range(n):
                total = 0.0
                for b in range(n_blocks):
                    total += q[f, row_map[b, i]]
                big_q[i] = total
                r = row_map[0, i]
                o = total - q[f, r]
                s1[r] += o
                s2[r] += o * o
                e0[r] += e[i]
                e1[r] += e[i] * o
            for b in range(n_blocks):
                lo, hi = row_off[b], row_off[b + 1]
                for j in range(feat_off[b], feat_off[b + 1]):
                    h2 = 0.0
                    eh = 0.0
                    vj = vt[f, j]
                    for k in range(col_ptr[j], col_ptr[j + 1]):
                        r, x = col_row[k], col_val[k]
                        a = q[f, r] - vj * x
                        h2 += x * x * (count[r] * a * a + 2.0 * a * s1[r] + s2[r])
                        eh += x * (a * e0[r] + e1[r])
                    g = feat_group[j]
                    prec = alpha * h2 + lam_v[f, g]
                    mean = (alpha * (eh + vj * h2) + mu_v[f, g] * lam_v[f, g]) / prec
                    new = mean + np.random.standard_normal() / np.sqrt(prec)
                    step = new - vj
                    vt[f, j] = new
                    for k in range(col_ptr[j], col_ptr[j + 1]):
                        r, x = col_row[k], col_val[k]
                        a = q[f, r] - vj * x
                        e0[r] -= step * x * (count[r] * a + s1[r])
                        e1[r] -= step * x * (a * s1[r] + s2[r])
                        q[f, r] += step * x
                for r in range(lo, hi):
                    square = 0.0
                    for k in range(row_ptr[r], row_ptr[r + 1]):
                        x = row_val[k] * vt[f, row_col[k]]
                        square += x * x
                    s[f, r] = square
                    # a rating in row r: its sum of factor values moves by dq, so its prediction by
                    # big_q * dq + dq^2 / 2 - (change of the row's own square terms) / 2
                    dq = q[f, r] - old_q[r]
                    shift[r] = dq
                    const[r] = 0.5 * dq * dq - 0.5 * (square - old_s[r])
                if b + 1 < n_blocks:
                    _open_rows(row_off[b + 1], row_off[b + 2], q[f], s[f], s1, s2, e0, e1, old_q, old_s)
                    for i in range(n):
                        r = row_map[b, i]
                        e[i] -= big_q[i] * shift[r] + const[r]
                        big_q[i] += shift[r]
                        r = row_map[b + 1, i]
                        o = big_q[i] - q[f, r]
                        s1[r] += o
                        s2[r] += o * o
                        e0[r] += e[i]
                        e1[r] += e[i] * o
                else:
                    for i in range(n):
                        r = row_map[b, i]
                        e[i] -= big_q[i] * shift[r] + const[r]
        sweep = first + it
        if sweep >= n_burn:
            for i in range(n):
                fit_sum[i] += y[i] - e[i]
            for i in range(extra_map.shape[1]):
                pred = w0[0]
                for b in range(n_blocks):
                    r = extra_map[b, i]
                    if r >= 0:
                        pred += lin[r]
                for f in range(rank):
                    total = 0.0
                    square = 0.0
                    for b in range(n_blocks):
                        r = extra_map[b, i]
                        if r >= 0:
                            total += q[f, r]
                            square += s[f, r]
                    pred += 0.5 * (total * total - square)
                extra_sum[i] += pred
            bias_sum[n_rows] += w0[0]
            for r in range(n_rows):
                own = lin[r]
                for f in range(rank):
                    own += 0.5 * (q[f, r] * q[f, r] - s[f, r])
                bias_sum[r] += own
            if (sweep - n_burn) % thin == 0 and n_kept < kept.shape[0]:
                for r in range(n_rows):
                    for f in range(rank):
                        kept[n_kept, r, f] = q[f, r]
                n_kept += 1
    v[:, :] = vt.T
    return n_kept
