"""The numba kernels behind `collab.kernels` (imported only when they are used: numba is slow to import).

Module-level functions, so numba's on-disk cache (`cache=True`, in `__pycache__`) can find them again
in the next process. Arithmetic is in float32 like the tables: a float64 constant would convert every
element and stop vectorisation.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

PREFETCH_AHEAD = 8  # rows fetched ahead; measured on 250k x 51 tables: 2.4 -> 1.0 ms per step of 4096

jit = numba.njit(cache=True, nogil=True, error_model="numpy")
# the dot product may be summed in any order (vectorised), as torch's own reductions are
jit_sum = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc", "contract"})


@intrinsic
def prefetch(typingctx, array, offset):
    """Ask the CPU to start loading array.flat[offset]'s cache line (llvm.prefetch; no effect
    on results). Random table rows cost a trip to memory each; fetched ahead, they overlap."""

    def codegen(context, builder, signature, args):
        data = context.make_array(signature.args[0])(context, builder, args[0]).data
        byte_ptr, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [byte_ptr, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read access, high locality, data cache
        builder.call(fn, [builder.bitcast(builder.gep(data, [args[1]]), byte_ptr), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(array, offset), codegen


@jit
def prefetch_row(table, row_major, row, whole):
    """Prefetch a row's weights, or (`whole`, row-major tables) the row with its optimizer state."""
    if row_major:
        start = row * table.shape[1] * table.shape[2]
        size = table.shape[1] * table.shape[2] if whole else table.shape[2]
    else:
        start, size = row * table.shape[2], table.shape[2]
    for offset in range(start, start + size, 16):  # 16 float32 = one 64-byte cache line
        prefetch(table, offset)


@jit_sum
def accumulate(table, row_major, grads, slots, users, items, ratings, start, stop, n_users, k, low, high, l2):
    """Add d(mean loss)/d(row) of ratings[start:stop] into grads[slots[row]]; return the summed loss.

    `row_major`: table is (rows, blocks, width), else (blocks, rows, width); block 0 = weights."""
    divisor = stop - start
    low32, span = np.float32(low), np.float32(high - low)
    scale, l2_scale = np.float32(2.0 * (high - low) / divisor), np.float32(2.0 * l2 / divisor)
    one = np.float32(1.0)
    loss = 0.0
    for r in range(start, stop):
        if r + PREFETCH_AHEAD < stop:
            prefetch_row(table, row_major, users[r + PREFETCH_AHEAD], False)
            prefetch_row(table, row_major, items[r + PREFETCH_AHEAD] + n_users, False)
        user, item = users[r], items[r] + n_users
        if row_major:
            user_row, item_row = table[user, 0], table[item, 0]  # (width,) views
        else:
            user_row, item_row = table[0, user], table[0, item]
        raw = user_row[k] + item_row[k]
        for f in range(k):
            raw += user_row[f] * item_row[f]
        squashed = one / (one + np.exp(-raw))
        error = squashed * span + low32 - ratings[r]
        loss += error * error
        grad_raw = scale * (squashed - squashed * squashed) * error
        user_grad, item_grad = grads[slots[user]], grads[slots[item]]  # (width,) views
        if l2:
            for f in range(k):
                user_grad[f] += grad_raw * item_row[f] + l2_scale * user_row[f]
                item_grad[f] += grad_raw * user_row[f] + l2_scale * item_row[f]
        else:
            for f in range(k):
                user_grad[f] += grad_raw * item_row[f]
                item_grad[f] += grad_raw * user_row[f]
        user_grad[k] += grad_raw
        item_grad[k] += grad_raw
    return loss


@jit
def adamw_constants(lr, beta1, beta2, eps, c1, c2):
    """AdamW's per-step scalars in float32: (step size, sqrt of the second bias correction, beta1,
    beta2, 1 - beta1, 1 - beta2, eps)."""
    return (
        np.float32(lr / c1),
        np.float32(np.sqrt(c2)),
        np.float32(beta1),
        np.float32(beta2),
        np.float32(1.0 - beta1),
        np.float32(1.0 - beta2),
        np.float32(eps),
    )


@jit
def adamw_value(weight, avg, avg_sq, grad, shrink, constants):
    """One weight's AdamW update as torch computes it: (new weight, new first moment, new second
    moment); `shrink` = 1 - lr * decay."""
    step_size, root_c2, keep1, keep2, take1, take2, eps32 = constants
    avg = avg * keep1 + take1 * grad
    avg_sq = avg_sq * keep2 + take2 * grad * grad
    return weight * shrink - step_size * avg / (np.sqrt(avg_sq) / root_c2 + eps32), avg, avg_sq


@jit
def adamw_row(row, grad, k, lr, decay_factors, decay_bias, constants):
    """AdamW on one table row (blocks: weights, first moments, second moments) with its gradient;
    the gradient row is zeroed."""
    shrink_factors, shrink_bias = np.float32(1.0 - lr * decay_factors), np.float32(1.0 - lr * decay_bias)
    weights, avgs, avg_sqs = row[0], row[1], row[2]
    for f in range(k + 1):
        shrink = shrink_factors if f < k else shrink_bias
        weights[f], avgs[f], avg_sqs[f] = adamw_value(
            weights[f], avgs[f], avg_sqs[f], grad[f], shrink, constants
        )
        grad[f] = 0.0


@jit
def one_moment_row(row, grad, k, lr, decay_factors, decay_bias, beta2, eps, c2):
    """Adam with one second moment for the whole row (kept after the bias), no momentum."""
    width = k + 1
    square_sum = np.float32(0.0)
    for f in range(width):
        square_sum += grad[f] * grad[f]
    weights = row[0]
    row_sq = weights[width] * np.float32(beta2) + np.float32((1.0 - beta2) / width) * square_sum
    weights[width] = row_sq
    step = np.float32(lr) / (np.sqrt(row_sq / np.float32(c2)) + np.float32(eps))
    shrink_factors, shrink_bias = np.float32(1.0 - lr * decay_factors), np.float32(1.0 - lr * decay_bias)
    for f in range(width):
        shrink = shrink_factors if f < k else shrink_bias
        weights[f] = weights[f] * shrink - step * grad[f]
        grad[f] = 0.0


@jit
def adamw_flat(weights, avgs, avg_sqs, grads, decays, lr, constants):
    """AdamW over flat arrays with a decay rate per weight; zeroes the gradients."""
    lr32 = np.float32(lr)
    for i in range(len(weights)):
        shrink = np.float32(1.0) - lr32 * decays[i]
        weights[i], avgs[i], avg_sqs[i] = adamw_value(
            weights[i], avgs[i], avg_sqs[i], grads[i], shrink, constants
        )
        grads[i] = 0.0


@jit
def dense_steps(
    table,
    grads,
    identity,
    decays,
    users,
    items,
    ratings,
    bounds,
    lrs,
    beta1s,
    step0,
    n_users,
    k,
    low,
    high,
    l2,
    beta2,
    eps,
    losses,
):
    """Exact AdamW steps over a (blocks, rows, width) table: step s trains on
    ratings[bounds[s]:bounds[s+1]] and updates every weight."""
    weights, avgs, avg_sqs = table[0].reshape(-1), table[1].reshape(-1), table[2].reshape(-1)
    flat_grads = grads.reshape(-1)
    for s in range(len(lrs)):
        losses[s] = accumulate(
            table,
            False,
            grads,
            identity,
            users,
            items,
            ratings,
            bounds[s],
            bounds[s + 1],
            n_users,
            k,
            low,
            high,
            l2,
        )
        step = step0 + s + 1
        c1, c2 = 1.0 - beta1s[s] ** step, 1.0 - beta2**step
        constants = adamw_constants(lrs[s], beta1s[s], beta2, eps, c1, c2)
        adamw_flat(weights, avgs, avg_sqs, flat_grads, decays, lrs[s], constants)


@jit
def row_steps(
    table,
    grads,
    slots,
    touched,
    users,
    items,
    ratings,
    bounds,
    lrs,
    beta1s,
    step0,
    n_users,
    k,
    low,
    high,
    l2,
    decay_factors,
    decay_bias,
    beta2,
    eps,
    one_moment,
    losses,
):
    """Row-wise AdamW steps over a (rows, blocks, width) table: only the rows a step's ratings
    touch are decayed and updated.

    `slots` (one per table row, all -1 between calls) maps a touched row to its gradient row.
    """
    for s in range(len(lrs)):
        start, stop = bounds[s], bounds[s + 1]
        n_touched = 0
        for r in range(start, stop):
            for row in (users[r], items[r] + n_users):
                if slots[row] < 0:
                    slots[row] = n_touched
                    touched[n_touched] = row
                    n_touched += 1
        losses[s] = accumulate(
            table, True, grads, slots, users, items, ratings, start, stop, n_users, k, low, high, l2
        )
        step = step0 + s + 1
        c1, c2 = 1.0 - beta1s[s] ** step, 1.0 - beta2**step
        constants = adamw_constants(lrs[s], beta1s[s], beta2, eps, c1, c2)
        for j in range(n_touched):
            if j + PREFETCH_AHEAD < n_touched:
                prefetch_row(table, True, touched[j + PREFETCH_AHEAD], True)
            row = touched[j]
            slots[row] = -1
            if one_moment:
                one_moment_row(table[row], grads[j], k, lrs[s], decay_factors, decay_bias, beta2, eps, c2)
            else:
                adamw_row(table[row], grads[j], k, lrs[s], decay_factors, decay_bias, constants)


@jit_sum
def sampled_dot(codes, weights, items, users, out):
    """out[k] = codes[items[k]] . weights[users[k]]: a product of two small matrices, only at the
    (item, user) cells that hold a rating (both matrices stay in cache; nothing dense is made)."""
    hidden = codes.shape[1]
    for k in range(len(items)):
        code, weight = codes[items[k]], weights[users[k]]
        total = np.float32(0.0)
        for f in range(hidden):
            total += code[f] * weight[f]
        out[k] = total


@jit_sum
def sampled_dot_backward(codes, weights, items, users, grad_out, grad_codes, grad_weights):
    """Gradients of `sampled_dot`: each cell adds grad x the other side's row to its item and user rows."""
    hidden = codes.shape[1]
    for k in range(len(items)):
        g = grad_out[k]
        code, weight = codes[items[k]], weights[users[k]]
        code_grad, weight_grad = grad_codes[items[k]], grad_weights[users[k]]
        for f in range(hidden):
            code_grad[f] += g * weight[f]
            weight_grad[f] += g * code[f]
