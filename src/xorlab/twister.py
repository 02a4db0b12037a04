"""CPython's `random.Random(seed)`, compiled: the Mersenne Twister and the two draws the
tutorial's data uses, so the exact stream costs microseconds per seed, not milliseconds.

Written from CPython's `Modules/_randommodule.c` (MT19937 of Matsumoto and Nishimura,
2002 version, seeded by `init_by_array` with the seed's 32-bit digits, least significant
first) and `Lib/random.py`:
  - `randint(0, 1)` is `_randbelow(2)`: `getrandbits(2)`, the top two bits of one 32-bit
    word, rejected while >= 2. So it takes words until one has its top bit clear and
    returns that word's second-highest bit;
  - `random()` takes two words a, b: ((a >> 5) * 2**26 + (b >> 6)) / 2**53.
Seeding computes in int64 (values below 2**32, masked after every product) so that no
unsigned promotion rule of numba's can change the arithmetic; the twisted state and the
tempered words are stored as uint32 (every value fits; half the bytes per vector).
Tests prove the words equal to Python's own and the decoded data bit-identical to
`data.plain_stream`.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir as llvm_ir
from numba.core import cgutils, types
from numba.cpython.unsafe.numbers import trailing_zeros  # LLVM's cttz; numba's own (internal) intrinsic
from numba.extending import intrinsic

N = 624
M = 397
MASK32 = 0xFFFFFFFF
CHUNKS = (N + 63) // 64  # 64-bit words of accept bits per buffer of 624


def seed_key(seed: int) -> np.ndarray:
    """The seed's 32-bit digits, least significant first, as `random.seed(int)` takes them."""
    seed = abs(seed)
    digits = [0] if seed == 0 else []
    while seed:
        digits.append(seed & MASK32)
        seed >>= 32
    return np.array(digits, dtype=np.int64)


def seed_keys(seeds) -> np.ndarray:
    """(R, 2) int64 keys of seeds below 2**64, the second digit -1 where absent."""
    keys = np.full((len(seeds), 2), -1, dtype=np.int64)
    for i, s in enumerate(seeds):
        k = seed_key(s)
        if len(k) > 2:
            raise ValueError(f"seed {s} is too large (at most 64 bits)")
        keys[i, : len(k)] = k
    return keys


@numba.njit(cache=True)
def init_genrand(seed: int, mt: np.ndarray) -> None:
    """MT19937's init_genrand(seed & 0xFFFFFFFF) into mt (624,) int64."""
    mt[0] = seed & MASK32
    for i in range(1, N):
        mt[i] = (1812433253 * (mt[i - 1] ^ (mt[i - 1] >> 30)) + i) & MASK32


@numba.njit(cache=True)
def temper(y):
    """MT19937's output function of one state word."""
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    return y ^ (y >> 18)


@numba.njit(cache=True)
def seeded_state(key: np.ndarray, mt: np.ndarray) -> None:
    """init_genrand(19650218) then init_by_array(key) into mt (624,) int64."""
    init_genrand(19650218, mt)
    length = len(key)
    i, j = 1, 0
    for _ in range(max(N, length)):
        mt[i] = ((mt[i] ^ (((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525) & MASK32)) + key[j] + j) & MASK32
        i += 1
        j += 1
        if i >= N:
            mt[0] = mt[N - 1]
            i = 1
        if j >= length:
            j = 0
    for _ in range(N - 1):
        mt[i] = ((mt[i] ^ (((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941) & MASK32)) - i) & MASK32
        i += 1
        if i >= N:
            mt[0] = mt[N - 1]
            i = 1
    mt[0] = 0x80000000


@numba.njit(cache=True)
def twist(mt: np.ndarray) -> None:
    """The next 624 words of state, in place (three loops, as in CPython: no modulo).
    mt is uint32: numba computes in 64-bit integers, the same values, and only loads
    and stores 32-bit words."""
    for kk in range(N - M):
        y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7FFFFFFF)
        mt[kk] = mt[kk + M] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
    for kk in range(N - M, N - 1):
        y = (mt[kk] & 0x80000000) | (mt[kk + 1] & 0x7FFFFFFF)
        mt[kk] = mt[kk + M - N] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)
    y = (mt[N - 1] & 0x80000000) | (mt[0] & 0x7FFFFFFF)
    mt[N - 1] = mt[M - 1] ^ (y >> 1) ^ ((y & 1) * 0x9908B0DF)


@numba.njit(cache=True)
def refill(mt: np.ndarray, out: np.ndarray, accept: np.ndarray) -> None:
    """Twist, then temper all 624 new words into out (N,) uint32; accept (CHUNKS,)
    uint64 gets a bit per word, set where the word's top bit is clear (randint keeps
    it); the last chunk's bits past word N stay clear."""
    twist(mt)
    for i in range(N):
        out[i] = temper(mt[i])
    for c in range(CHUNKS):
        bits = np.uint64(0)
        for j in range(min(64, N - 64 * c)):
            bits |= np.uint64((out[64 * c + j] >> 31) ^ 1) << np.uint64(j)
        accept[c] = bits


@numba.njit(cache=True)
def new_state(key: np.ndarray):
    """The generator right after random.seed: (state, words buffer, accept bits). The
    buffer holds no words yet: callers start drawing at position N, which refills it."""
    seeded = np.empty(N, dtype=np.int64)
    seeded_state(key, seeded)
    return seeded.astype(np.uint32), np.empty(N, dtype=np.uint32), np.empty(CHUNKS, dtype=np.uint64)


@numba.njit(cache=True)
def words(key: np.ndarray, out: np.ndarray) -> None:
    """The first len(out) 32-bit outputs of random.Random(seed) for the seed's key."""
    mt, buf, accept = new_state(key)
    for lo in range(0, len(out), N):
        refill(mt, buf, accept)
        for i in range(min(N, len(out) - lo)):
            out[lo + i] = buf[i]


@numba.njit(cache=True)
def decode_span(mt: np.ndarray, buf: np.ndarray, accept: np.ndarray, pos: int, inputs: int, center: bool,
                noise: float, first: int, stop: int, skip: int, x: np.ndarray, y: np.ndarray, lane: int) -> int:
    """Examples first..stop-1 of the tutorial's stream, drawn from the generator (mt,
    buf, accept) at word `pos`, into lane `lane` of x (E', N, R) and y (E', R) from
    example `skip` on (the ones before it drawn, not kept); returns the new `pos`, so a
    stream can be drawn a span at a time. Each value is made in float64, as Python makes
    it, and cast once where it is stored (as `astype` casts).

    randint(0, 1) skips the rejected words (top bit set) through the buffer's accept
    bits, not through a branch per word, which the CPU would mispredict half the time.
    (One loop, no early return: numba 0.68 mis-built a helper with a return inside
    `while True`, and a call per draw costs more than the draw.)"""
    zero = np.uint64(0)
    kept = np.empty(inputs)  # the example's bits, as values, until its noise is drawn
    for e in range(first, stop):
        parity = 0
        for i in range(inputs):  # randint(0, 1): the next word with its top bit clear
            bits = zero
            while bits == zero:
                if pos >= N:
                    refill(mt, buf, accept)
                    pos = 0
                c = pos >> 6
                bits = accept[c] >> np.uint64(pos & 63)
                if bits == zero:
                    pos = (c + 1) << 6  # no word left in this chunk is kept
            pos += np.int64(trailing_zeros(bits))
            bit = np.int64(buf[pos] >> 30) & 1
            pos += 1
            parity ^= bit
            kept[i] = 2.0 * (bit - 0.5) if center else float(bit)
        target = 2.0 * (parity - 0.5) if center else float(parity)
        for i in range(inputs + 1):  # random(): two words each
            if pos >= N:
                refill(mt, buf, accept)
                pos = 0
            a = np.int64(buf[pos]) >> 5
            pos += 1
            if pos >= N:
                refill(mt, buf, accept)
                pos = 0
            b = np.int64(buf[pos]) >> 6
            pos += 1
            r = (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)
            if i < inputs:
                kept[i] = kept[i] + noise * r
            else:
                target = target + noise * r
        if e >= skip:
            for i in range(inputs):
                x[e - skip, i, lane] = kept[i]
            y[e - skip, lane] = target
    return pos


@numba.njit(cache=True)
def decode_stream(key: np.ndarray, inputs: int, center: bool, noise: float, x: np.ndarray, y: np.ndarray) -> None:
    """The tutorial's examples, drawn in order, into x (E, N) and y (E,) float64."""
    mt, buf, accept = new_state(key)
    decode_span(mt, buf, accept, N, inputs, center, noise, 0, x.shape[0], 0,
                x.reshape((x.shape[0], inputs, 1)), y.reshape((y.shape[0], 1)), 0)


@numba.njit(cache=True, parallel=True)
def decode_many(keys: np.ndarray, inputs: int, center: bool, noise: float, x: np.ndarray, y: np.ndarray) -> None:
    """decode_stream for every row of keys (R, 2) into x (R, E, N), y (R, E), in parallel."""
    for r in numba.prange(keys.shape[0]):
        length = 2 if keys[r, 1] >= 0 else 1
        decode_stream(keys[r, :length], inputs, center, noise, x[r], y[r])


LANE_GROUP = 16  # lanes one thread fills in turn: a 64-byte line of float32, never shared between threads
SPAN_EXAMPLES = 256  # examples of every stream of a group drawn in turn: their lines stay in the L1/L2 caches


@numba.njit(cache=True, parallel=True)
def decode_lanes(keys: np.ndarray, lanes: np.ndarray, inputs: int, center: bool, noise: float, skip: int,
                 x: np.ndarray, y: np.ndarray, threads: int) -> None:
    """decode_stream for every row of keys (K, 2), its examples from `skip` on cast into
    lane lanes[k] of x (E', N, R) and y (E', R) (runs innermost, the output's precision).
    In parallel over `threads` parts (numba's threads: `numba.get_num_threads()`), each
    a run of groups of lanes. A group's generators are drawn SPAN_EXAMPLES examples at a
    time each, in turn, straight into the lanes: the lines they write are the same
    few for the whole group, and no scratch copy of a stream is made."""
    count = keys.shape[0]
    total = x.shape[0] + skip
    groups = (count + LANE_GROUP - 1) // LANE_GROUP
    parts = min(groups, threads)
    for p in numba.prange(parts):  # a group's generators per part, allocated once
        mts = np.empty((LANE_GROUP, N), dtype=np.uint32)
        bufs = np.empty((LANE_GROUP, N), dtype=np.uint32)
        accepts = np.empty((LANE_GROUP, CHUNKS), dtype=np.uint64)
        positions = np.empty(LANE_GROUP, dtype=np.int64)
        seeded = np.empty(N, dtype=np.int64)
        for g in range(p * groups // parts, (p + 1) * groups // parts):
            first, last = g * LANE_GROUP, min(count, (g + 1) * LANE_GROUP)
            for k in range(first, last):
                length = 2 if keys[k, 1] >= 0 else 1
                seeded_state(keys[k, :length], seeded)
                for i in range(N):
                    mts[k - first, i] = seeded[i]
                positions[k - first] = N  # nothing drawn yet: the first draw refills
            for lo in range(0, total, SPAN_EXAMPLES):
                hi = min(total, lo + SPAN_EXAMPLES)
                for k in range(first, last):
                    j = k - first
                    positions[j] = decode_span(mts[j], bufs[j], accepts[j], positions[j], inputs, center, noise,
                                               lo, hi, skip, x, y, lanes[k])


# --- torch's CPU generator, for the initial weights ------------------------------------
#
# `torch.Generator().manual_seed(seed)` is an MT19937 seeded by init_genrand with the
# seed's low 32 bits (ATen's `mt19937::init_with_uint32`); `uniform_(from, to)` on a
# float32 tensor draws one 32-bit word per element, in order, and returns
# `(word & (2**24 - 1)) * 2**-24 * (to - from) + from` in float32 (ATen's
# `uniform_real_distribution`). Where torch's kernels are built for AVX2 or AVX-512 the
# compiler fuses that multiply-add into one FMA (one rounding); its DEFAULT kernels do
# not. `model.drawn_parameters` finds which by drawing once with torch itself.


@numba.njit(cache=True)
def torch_words(seeds: np.ndarray, out: np.ndarray) -> None:
    """The first out.shape[1] 32-bit outputs of torch's CPU generator seeded with each of
    seeds (R,) int64 (0 <= seed < 2**63), into out (R, K) uint32."""
    mt = np.empty(N, dtype=np.int64)
    for r in range(seeds.shape[0]):
        init_genrand(seeds[r], mt)
        state = mt.astype(np.uint32)
        for lo in range(0, out.shape[1], N):
            twist(state)
            for i in range(min(N, out.shape[1] - lo)):
                out[r, lo + i] = temper(state[i])


@intrinsic
def _fma32(typingctx, a, b, c):
    """a * b + c in float32 with one rounding (LLVM's llvm.fma.f32)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f32 = llvm_ir.FloatType()
        fn = cgutils.get_or_insert_function(builder.module, llvm_ir.FunctionType(f32, [f32, f32, f32]), "llvm.fma.f32")
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(cache=True)
def torch_uniform(words: np.ndarray, low: np.ndarray, high: np.ndarray, fused: bool, out: np.ndarray) -> None:
    """torch's float32 `uniform_(low[k], high[k])` of words (R, K) uint32 into out (R, K)
    float32, the multiply-add fused (one rounding) or not, as torch's kernels compute it."""
    scale = np.float32(1.0 / 16777216.0)
    for r in range(words.shape[0]):
        for k in range(words.shape[1]):
            x = np.float32(words[r, k] & 0xFFFFFF) * scale
            span = high[k] - low[k]
            out[r, k] = _fma32(x, span, low[k]) if fused else x * span + low[k]
