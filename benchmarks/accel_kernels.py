"""The accelerator's kernels against the NumPy ones on W3's shapes (batch 64), interleaved.

`python -m benchmarks.accel_kernels`: for each primitive of the MNIST convnet, forward and
backward (the convolutions' forward and backward together, since a backward reads what its own
forward kept), the median time per call with the accelerator off and on, alternated in one process.
"""

import time

import numpy as np


def _median_time(f, repeat):
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        f()
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def cases(rng):
    from nablanet.autodiff.ops import nn

    x1 = rng.random((64, 28, 28, 1), dtype=np.float32)
    w1, b1 = rng.standard_normal((3, 3, 1, 32)).astype(np.float32), np.zeros(32, np.float32)
    x2 = rng.standard_normal((64, 13, 13, 32)).astype(np.float32)
    w2, b2 = rng.standard_normal((3, 3, 32, 64)).astype(np.float32), np.zeros(64, np.float32)
    p1 = rng.standard_normal((64, 26, 26, 32)).astype(np.float32)
    p2 = rng.standard_normal((64, 11, 11, 64)).astype(np.float32)
    conv = dict(strides=(1, 1), padding=((0, 0), (0, 0)), dilation=(1, 1), groups=1, relu=True)
    pool = dict(pool=(2, 2), strides=(2, 2), padding=((0, 0), (0, 0)))
    rows = []
    for name, x, w, b, first in (("conv1", x1, w1, b1, True), ("conv2", x2, w2, b2, False)):
        g = rng.standard_normal(nn._conv2d(x, w, b, **conv).shape).astype(np.float32)
        rows.append((f"{name} forward", lambda x=x, w=w, b=b: nn._conv2d(x, w, b, **conv)))

        def both(x=x, w=w, b=b, g=g, first=first):  # each path's backward reads what its own forward kept
            out = nn._conv2d(x, w, b, **conv)
            dx, dw, db = nn._conv2d_vjp(g, out, x, w, b, **conv)
            dw(), db()
            if not first:  # a first layer's input gradient is never asked for
                dx()

        rows.append((f"{name} fwd+bwd", both))
    for name, x in (("pool1", p1), ("pool2", p2)):
        out = nn._max_pool(x, **pool)
        g = rng.standard_normal(out.shape).astype(np.float32)
        rows.append((f"{name} forward", lambda x=x: nn._max_pool(x, **pool)))
        rows.append((f"{name} backward", lambda x=x, out=out, g=g: nn._max_pool_vjp(g, out, x, **pool)))
    return rows


def run(repeat=30):
    from nablanet.autodiff import accel

    rows = cases(np.random.default_rng(0))
    print(f"{'kernel':18} {'numpy ms':>9} {'accel ms':>9} {'speed-up':>9}")
    for name, f in rows:
        timings = {False: [], True: []}
        for _ in range(3):
            for on in (False, True):
                accel.set_enabled(on)
                f()  # warm: compiled or loaded before timing
                timings[on].append(_median_time(f, repeat // 3))
        accel.set_enabled(None)
        numpy_ms, accel_ms = 1e3 * np.median(timings[False]), 1e3 * np.median(timings[True])
        print(f"{name:18} {numpy_ms:9.3f} {accel_ms:9.3f} {numpy_ms / accel_ms:8.2f}x")


if __name__ == "__main__":
    run()
