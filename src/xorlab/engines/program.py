"""The jax engine's traced program: a span of epochs of R runs side by side, as JAX code.

Everything here is traced once per `Setting` (network shape, activation, optimizer,
batch size, dtype) into one XLA program; the numbers that vary between runs of a
setting (learning rate, momentum, weight decay) are per-run arrays, so one compile
serves a whole grid. A knob is Python here, not a hand-written kernel: the forward is
the tutorial's network written with runs innermost, `jax.grad` gives the gradients,
and the optimizers repeat `torch.optim`'s single-tensor steps op for op.

Shapes, runs innermost (R lanes): a layer's weight (out, in, R), its bias (out, R);
a batch x (B, N, R), y (B, R). Runs never meet in a reduction, so the gradient of the
sum of the runs' losses is each run's own gradient, and a NaN stays in its run.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .. import activations
from ..config import LOG_EVERY
from .plan import Setting

# Adam's bias corrections, 1 - beta ** step, are exactly 1.0 in float64 long before
# this many steps (0.999 ** 65536 ~ 3e-29), so a table this long covers every step.
ADAM_TABLE = 1 << 16
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


# --- the network ---------------------------------------------------------------


def dense(w, b, h):
    """w (O, I, R), b (O, R), h (..., I, R) -> (..., O, R): each run's own affine map."""
    return jnp.sum(w * h[..., None, :, :], axis=-2) + b


def forward(s: Setting, params, x):
    """params: (w, b) per layer; x (..., N, R) -> outputs (..., R)."""
    act = activations.get(s.activation).jax_fn
    h = x
    for w, b in params[:-1]:
        h = act(dense(w, b, h))
    w, b = params[-1]
    return dense(w, b, h)[..., 0, :]


def batch_losses(s: Setting, params, x, y):
    """Each run's MSE over the batch, as F.mse_loss takes it: (R,)."""
    return jnp.mean((forward(s, params, x) - y) ** 2, axis=0)


def loss_and_grads(s: Setting, params, x, y):
    """(R,) losses and each run's gradients (the gradient of their sum, runs apart)."""
    total = lambda p: (lambda l: (jnp.sum(l), l))(batch_losses(s, p, x, y))
    (_, losses), grads = jax.value_and_grad(total, has_aux=True)(params)
    return losses, grads


# --- the optimizers: torch.optim's single-tensor steps, in their order -----------


def sgd(s: Setting, p, g, state, hyper, t, table):
    """optim.SGD(lr, momentum, nesterov, weight_decay), `_single_tensor_sgd`."""
    lr, momentum, decay = hyper
    g = g + decay * p  # grad.add(param, alpha=weight_decay); 0 when there is none
    if s.optimizer in ("momentum", "nesterov"):
        # the buffer starts as a clone of the first gradient: 0 * momentum + g is g
        state = state * momentum + g
        g = g + momentum * state if s.optimizer == "nesterov" else state
    return p - lr * g, state


def adam(s: Setting, p, g, state, hyper, t, table):
    """optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay), `_single_tensor_adam`
    (its bias corrections computed in float64 on the host, as Python does). torch divides
    by them; this multiplies by their reciprocals, made on the host: XLA rewrites a
    division by a broadcast scalar into such a product in some programs and not in
    others (one device against two), and a run's numbers must not depend on which
    program trains it."""
    lr, _, decay = hyper
    m, v = state
    beta1, beta2 = ADAM_BETAS
    g = g + decay * p
    m = m + (1 - beta1) * (g - m)  # exp_avg.lerp_(grad, 1 - beta1): weight < 0.5
    v = v * beta2 + (1 - beta2) * g * g  # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
    i = jnp.minimum(t, ADAM_TABLE - 1)
    step_size = lr * table[0, i]  # lr / bias_correction1
    denom = jnp.sqrt(v) * table[1, i] + ADAM_EPS  # exp_avg_sq.sqrt() / bias_correction2_sqrt + eps
    return p + (-step_size) * m / denom, (m, v)  # param.addcdiv_(exp_avg, denom, value=-step_size)


@functools.cache
def adam_table(dtype, optimizer: str = "adam") -> np.ndarray:
    """(2, ADAM_TABLE): 1 / (1 - beta1 ** step) and 1 / (1 - beta2 ** step) ** 0.5 for
    step 1, 2, ... in float64 (Python's arithmetic), then cast to the run's precision; (2, 1) for the
    optimizers that do not read it (every block is sent its table). Read-only: shared."""
    if optimizer != "adam":
        table = np.ones((2, 1), dtype)
    else:
        step = np.arange(1, ADAM_TABLE + 1, dtype=np.float64)
        beta1, beta2 = ADAM_BETAS
        table = np.stack([1 / (1 - beta1 ** step), 1 / (1 - beta2 ** step) ** 0.5]).astype(dtype)
    table.flags.writeable = False
    return table


def initial_state(s: Setting, params):
    """The optimizer's per-parameter state: nothing, a momentum buffer, or Adam's moments."""
    zeros = np.zeros_like  # built on the host, then put on the block's device
    if s.optimizer == "sgd":
        return jax.tree.map(lambda q: (), params)
    if s.optimizer == "adam":
        return jax.tree.map(lambda q: (zeros(q), zeros(q)), params)
    return jax.tree.map(zeros, params)


def update(s: Setting, params, grads, state, hyper, t, table):
    """Every parameter's step (its rule sees one parameter and its state at a time)."""
    rule = adam if s.optimizer == "adam" else sgd
    flat_p, tree = jax.tree.flatten(params)
    flat_g = jax.tree.leaves(grads)
    flat_s = tree.flatten_up_to(state)
    new = [rule(s, p, g, st, hyper, t, table) for p, g, st in zip(flat_p, flat_g, flat_s)]
    return tree.unflatten([n[0] for n in new]), tree.unflatten([n[1] for n in new])


# --- the loops -------------------------------------------------------------------


def split_batches(batch_size: int, x, y):
    """The 5,000 training examples x (E, N, R), y (E, R) cut as a DataLoader without
    drop_last cuts them: the full batches (S, B, ...) and, where B does not divide E,
    the smaller last batch (b, ...)."""
    full = x.shape[0] // batch_size
    cut = full * batch_size
    batches = (x[:cut].reshape((full, batch_size) + x.shape[1:]), y[:cut].reshape((full, batch_size) + y.shape[1:]))
    return batches, ((x[cut:], y[cut:]) if cut < x.shape[0] else None)


def logged_count(batch_size: int, examples: int) -> int:
    """Logged train losses per epoch: batches i with i % LOG_EVERY == 0."""
    return math.ceil(math.ceil(examples / batch_size) / LOG_EVERY)


def make_step(s: Setting, hyper, table):
    def step(carry, batch):
        params, state, t = carry
        losses, grads = loss_and_grads(s, params, *batch)
        params, state = update(s, params, grads, state, hyper, t, table)
        return (params, state, t + 1), losses
    return step


def make_epoch(s: Setting, hyper, table, batches, last):
    """One epoch over the batches: (params, state, t) -> the same, and the logged
    losses (batches 0, 100, 200, ...), (K, R)."""
    step = make_step(s, hyper, table)

    def epoch(carry):
        carry, losses = lax.scan(step, carry, batches)  # (S, R)
        if last is not None:
            carry, loss = step(carry, last)
            losses = jnp.concatenate([losses, loss[None]])
        return carry, losses[::LOG_EVERY]

    return epoch


def evaluate(s: Setting, params, x, y):
    """The tutorial's test(): x (T, B, N, R), y (T, B, R) -> mean of the T batch losses
    and the points with round(output) == round(target), each (R,)."""
    out = forward(s, params, x)  # (T, B, R)
    batch = jnp.mean((out - y) ** 2, axis=1)  # (T, R)
    correct = jnp.sum(jnp.round(out) == jnp.round(y), axis=(0, 1), dtype=jnp.int32)
    return jnp.sum(batch, axis=0) / x.shape[0], correct


def make_train(s: Setting, span: int, test_batch: int):
    """The program: train `count` (<= span) epochs from (params, state, t), recording
    each epoch's logged train losses, test loss and correct count in span-long histories."""

    def train(params, state, t, train_x, train_y, test_x, test_y, hyper, table, count):
        batches, last = split_batches(s.batch_size, train_x, train_y)
        tx = test_x.reshape((-1, test_batch) + test_x.shape[1:])  # (T, B, N, R)
        ty = test_y.reshape((-1, test_batch) + test_y.shape[1:])
        epoch = make_epoch(s, hyper, table, batches, last)
        r = train_x.shape[-1]
        logged = logged_count(s.batch_size, train_x.shape[0])
        hist = (jnp.full((span, logged, r), jnp.nan, train_x.dtype), jnp.full((span, r), jnp.nan, train_x.dtype),
                jnp.zeros((span, r), jnp.int32))

        def body(e, carry):
            inner, (h_train, h_test, h_correct) = carry
            inner, losses = epoch(inner)
            loss, correct = evaluate(s, inner[0], tx, ty)
            return inner, (h_train.at[e].set(losses), h_test.at[e].set(loss), h_correct.at[e].set(correct))

        (params, state, t), hist = lax.fori_loop(0, count, body, ((params, state, t), hist))
        return params, state, t, hist

    return train
