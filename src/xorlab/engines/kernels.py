"""The fused engine's compiled kernels: a whole run's training inside one loop.

Dimensions as in batched.py: S train batches (500), T test batches (50), B batch size
(10), N inputs, H hidden units, plus L = LANES runs side by side. Runs sit in lane
blocks of L: every arithmetic line is a loop over the L lanes of one block, which the
compiler turns into SIMD instructions (L is a compile-time constant, a multiple of
every vector width, so no lane ever runs a scalar remainder loop and a run's numbers
do not depend on which runs share its block). Blocks are independent and spread over
the cores (`prange`). A block's parameters, gradients and activations are a few
hundred bytes that stay in L1 cache for the whole run.

The arithmetic is batched.sgd_step's, in autograd's order, so float64 runs agree
with the one-run loop to ~1e-14 per step. Nothing reduces across lanes, so a run that
diverges fills its own lanes with NaN and touches no other. fastmath is limited to
'contract' (fused multiply-add): the flags that assume no NaN or infinity would let
the compiler drop the very checks that keep a diverged run's NaN a NaN.

float32's exp is written out (Cephes' expf: a degree-7 polynomial and an exponent
built from integer bits) because numba's `math.exp` is a scalar libm call that stops
the lane loops from vectorising, and exp is most of a step's arithmetic. float64 runs
use libm's exp and tanh: they are the slow, exact check, not the hot path.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from ..twister import decode_stream

LANES = 64  # runs per block: a multiple of every SIMD width, and long enough that the
# compiler vectorises each lane loop (at 16 its runtime alias checks did not pay; 64 ran 5x faster)
FASTMATH = {"contract"}
LOG_EVERY = 100  # mirrors config.LOG_EVERY (numba freezes module globals at compile time)

# Kernel codes of the activations (activations.py gives each registry entry one).
SIGMOID, TANH, RELU, LINEAR = 0, 1, 2, 3
KERNEL_ACTIVATIONS = (SIGMOID, TANH, RELU, LINEAR)


@intrinsic
def _int32_as_float32(typingctx, i):
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def exp32(x):
    """e**x in float32 within ~1 ulp (Cephes expf); NaN stays NaN, overflow gives inf."""
    finite = x == x
    xc = min(max(x if finite else np.float32(0.0), np.float32(-87.3)), np.float32(88.7))
    t = xc * np.float32(1.44269504088896341) + np.float32(0.5)
    i = np.int32(t)  # truncation; floor below (math.floor is a libm call that stops SIMD)
    below = np.float32(i) > t
    n = np.float32(i) - np.float32(1.0) if below else np.float32(i)
    i = i - np.int32(1) if below else i
    r = xc - n * np.float32(0.693359375) - n * np.float32(-2.12194440e-4)
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * (r * r) + r + np.float32(1.0)
    half_scale = _int32_as_float32((i + np.int32(126)) << np.int32(23))  # 2**(n - 1)
    y = p * half_scale * np.float32(2.0)
    if x > np.float32(88.72283905206835):
        y = np.float32(np.inf)
    return y if finite else x


def fexp(x):
    """exp in the argument's own precision (overloaded below)."""
    return math.exp(x)


@overload(fexp)
def _fexp(x):
    if x == types.float32:
        return lambda x: exp32(x)
    return lambda x: math.exp(x)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def tanh32(x):
    """tanh in float32 (Cephes tanhf): a polynomial near 0, 1 - 2 / (e**2|x| + 1) beyond."""
    ax = abs(x)
    z = x * x
    p = np.float32(-5.70498872745e-3)
    p = p * z + np.float32(2.06390887954e-2)
    p = p * z + np.float32(-5.37397155531e-2)
    p = p * z + np.float32(1.33314422036e-1)
    p = p * z + np.float32(-3.33332819422e-1)
    small = x + x * z * p
    big = np.float32(1.0) - np.float32(2.0) / (exp32(ax + ax) + np.float32(1.0))
    big = big if x >= 0 else -big
    return small if ax < np.float32(0.625) else big


def ftanh(x):
    return math.tanh(x)


@overload(ftanh)
def _ftanh(x):
    if x == types.float32:
        return lambda x: tanh32(x)
    return lambda x: math.tanh(x)


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def activate(code, z, a, b, h, one, zero):
    """a[b, h, :] = act(z[b, h, :]) over the L lanes."""
    if code == SIGMOID:
        for l in range(LANES):
            a[b, h, l] = one / (one + fexp(-z[b, h, l]))
    elif code == TANH:
        for l in range(LANES):
            a[b, h, l] = ftanh(z[b, h, l])
    elif code == RELU:
        for l in range(LANES):
            v = z[b, h, l]
            a[b, h, l] = zero if v < zero else v  # NaN stays NaN, as in torch.relu
    else:
        for l in range(LANES):
            a[b, h, l] = z[b, h, l]


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy", inline="always")
def backward(code, g, a, b, h, out, one, zero):
    """out[b, h, :] = the gradient at the pre-activation from upstream g (L,) and the
    output a[b, h, :] (autograd's sigmoid_backward, tanh_backward, threshold_backward)."""
    if code == SIGMOID:
        for l in range(LANES):
            out[b, h, l] = g[l] * (one - a[b, h, l]) * a[b, h, l]
    elif code == TANH:
        for l in range(LANES):
            out[b, h, l] = g[l] * (one - a[b, h, l] * a[b, h, l])
    elif code == RELU:
        for l in range(LANES):
            out[b, h, l] = g[l] if a[b, h, l] > zero else zero
    else:
        for l in range(LANES):
            out[b, h, l] = g[l]


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def forward(code, n_in, n_hid, x, s, b, w1, b1, w2, b2, z, a, out, one, zero):
    """Example x[s, b] (N, L) for L lanes -> z[b], a[b] (H, L), out[b] (L,)."""
    for h in range(n_hid):
        for l in range(LANES):
            z[b, h, l] = x[s, b, 0, l] * w1[h, 0, l]
        for n in range(1, n_in):
            for l in range(LANES):
                z[b, h, l] += x[s, b, n, l] * w1[h, n, l]
        for l in range(LANES):
            z[b, h, l] = b1[h, l] + z[b, h, l]
        activate(code, z, a, b, h, one, zero)
    for l in range(LANES):
        out[b, l] = a[b, 0, l] * w2[0, l]
    for h in range(1, n_hid):
        for l in range(LANES):
            out[b, l] += a[b, h, l] * w2[h, l]
    for l in range(LANES):
        out[b, l] = b2[l] + out[b, l]


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def sgd_step(code, n_in, n_hid, x, y, s, lr, w1, b1, w2, b2, z, a, out, g, gw1, gb1, gw2, gb2, gz, loss,
             one, zero, two_over_b):
    """One SGD step on MSE over batch s of x (S, B, N, L), y (S, B, L); loss (L,) before
    the step. Work arrays: z, a (B, H, L), out, g (B, L), gw1 (H, N, L), gb1, gw2 (H, L),
    gb2, gz (L,). The sums over the batch run in example order, as torch's do."""
    batch = x.shape[1]
    for b in range(batch):
        forward(code, n_in, n_hid, x, s, b, w1, b1, w2, b2, z, a, out, one, zero)
    for l in range(LANES):
        loss[l] = zero
    for b in range(batch):
        for l in range(LANES):
            d = out[b, l] - y[s, b, l]
            loss[l] += d * d
            g[b, l] = d * two_over_b  # mse_loss backward: 2 (out - y) / B
    for l in range(LANES):
        loss[l] = loss[l] / batch
        gb2[l] = g[0, l]
    for b in range(1, batch):
        for l in range(LANES):
            gb2[l] += g[b, l]
    for h in range(n_hid):
        for l in range(LANES):
            gw2[h, l] = g[0, l] * a[0, h, l]
        for b in range(1, batch):
            for l in range(LANES):
                gw2[h, l] += g[b, l] * a[b, h, l]
        for b in range(batch):
            for l in range(LANES):
                gz[l] = g[b, l] * w2[h, l]
            backward(code, gz, a, b, h, z, one, zero)  # z[b, h] now holds dL/dz
        for l in range(LANES):
            gb1[h, l] = z[0, h, l]
        for b in range(1, batch):
            for l in range(LANES):
                gb1[h, l] += z[b, h, l]
        for n in range(n_in):
            for l in range(LANES):
                gw1[h, n, l] = z[0, h, l] * x[s, 0, n, l]
            for b in range(1, batch):
                for l in range(LANES):
                    gw1[h, n, l] += z[b, h, l] * x[s, b, n, l]
    for h in range(n_hid):  # SGD: p.add_(grad, alpha=-lr)
        for n in range(n_in):
            for l in range(LANES):
                w1[h, n, l] = w1[h, n, l] + (-lr[l]) * gw1[h, n, l]
        for l in range(LANES):
            b1[h, l] = b1[h, l] + (-lr[l]) * gb1[h, l]
            w2[h, l] = w2[h, l] + (-lr[l]) * gw2[h, l]
    for l in range(LANES):
        b2[l] = b2[l] + (-lr[l]) * gb2[l]


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def evaluate(code, n_in, n_hid, tx, ty, w1, b1, w2, b2, z, a, out, test_loss, test_correct, epoch, one, zero):
    """The tutorial's test(): tx (T, B, N, L), ty (T, B, L) -> test_loss[epoch], the mean
    of the T batch losses (accumulated in the run's precision), and test_correct[epoch],
    the points whose rounded output equals the rounded target (half to even, as
    torch.round)."""
    batches, batch = tx.shape[0], tx.shape[1]
    for l in range(LANES):
        test_loss[epoch, l] = zero
        test_correct[epoch, l] = 0
    for t in range(batches):
        for b in range(batch):
            forward(code, n_in, n_hid, tx, t, b, w1, b1, w2, b2, z, a, out, one, zero)
        for l in range(LANES):
            s = zero
            for b in range(batch):
                d = out[b, l] - ty[t, b, l]
                s += d * d
                if np.rint(out[b, l]) == np.rint(ty[t, b, l]):
                    test_correct[epoch, l] += 1
            test_loss[epoch, l] += s / batch
    for l in range(LANES):
        test_loss[epoch, l] = test_loss[epoch, l] / batches


@numba.njit(cache=True, fastmath=FASTMATH, error_model="numpy")
def train_block(code, n_in, n_hid, x, y, tx, ty, lr, w1, b1, w2, b2, first, last, train_loss, test_loss,
                test_correct, consts):
    """Epochs first..last - 1 of one block. x (S, B, N, L), y (S, B, L), tx, ty likewise
    for the test set; train_loss (E, 5, L), test_loss (E, L), test_correct (E, L)."""
    one, zero, two_over_b = consts[0], consts[1], consts[2]
    batch, h_max, n_max = x.shape[1], w1.shape[0], w1.shape[1]
    dtype = w1.dtype
    z = np.empty((batch, h_max, LANES), dtype)
    a = np.empty((batch, h_max, LANES), dtype)
    out = np.empty((batch, LANES), dtype)
    g = np.empty((batch, LANES), dtype)
    gw1 = np.empty((h_max, n_max, LANES), dtype)
    gb1 = np.empty((h_max, LANES), dtype)
    gw2 = np.empty((h_max, LANES), dtype)
    gb2 = np.empty(LANES, dtype)
    gz = np.empty(LANES, dtype)
    loss = np.empty(LANES, dtype)
    for epoch in range(first, last):
        for s in range(x.shape[0]):
            sgd_step(code, n_in, n_hid, x, y, s, lr, w1, b1, w2, b2, z, a, out, g, gw1, gb1, gw2, gb2, gz,
                     loss, one, zero, two_over_b)
            if s % LOG_EVERY == 0:
                for l in range(LANES):
                    train_loss[epoch, s // LOG_EVERY, l] = loss[l]
        evaluate(code, n_in, n_hid, tx, ty, w1, b1, w2, b2, z, a, out, test_loss, test_correct, epoch, one, zero)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def train_blocks(codes, inputs, hidden, x, y, tx, ty, lr, w1, b1, w2, b2, first, last, train_loss, test_loss,
                 test_correct, consts):
    """train_block for every block k (the leading dimension of every array), in parallel."""
    for k in numba.prange(codes.shape[0]):
        train_block(codes[k], inputs[k], hidden[k], x[k], y[k], tx[k], ty[k], lr[k], w1[k], b1[k], w2[k], b2[k],
                    first, last, train_loss[k], test_loss[k], test_correct[k], consts)


@numba.njit(cache=True, parallel=True, error_model="numpy")
def fill_data(keys, lane_block, lane_index, inputs, center, noise, skip, n_train, x, y, tx, ty):
    """Decode each lane's stream (keys (R, 2), see twister.seed_keys) into the blocks'
    data x (K, S, B, N, L), y (K, S, B, L), tx, ty, cast to their precision; `skip`
    examples (the tutorial's printed samples) are drawn and dropped."""
    batch = x.shape[2]
    for r in numba.prange(keys.shape[0]):
        length = 2 if keys[r, 1] >= 0 else 1
        total = skip + n_train + tx.shape[1] * batch
        xs = np.empty((total, inputs[r]))
        ys = np.empty(total)
        decode_stream(keys[r, :length], inputs[r], center[r], noise, xs, ys)
        k, l = lane_block[r], lane_index[r]
        for e in range(n_train + tx.shape[1] * batch):
            src = skip + e
            if e < n_train:
                s, b = e // batch, e % batch
                for n in range(inputs[r]):
                    x[k, s, b, n, l] = xs[src, n]
                y[k, s, b, l] = ys[src]
            else:
                t, b = (e - n_train) // batch, (e - n_train) % batch
                for n in range(inputs[r]):
                    tx[k, t, b, n, l] = xs[src, n]
                ty[k, t, b, l] = ys[src]
