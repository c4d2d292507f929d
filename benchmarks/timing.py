"""Timing helpers shared by the workloads: warm up, repeat, keep the median."""

import statistics
import time


def per_call(fn, *, min_time=0.2, repeats=7):
    """Median seconds per call of `fn` over `repeats` rounds of about `min_time` each."""
    fn()  # warm up: caches, lazy imports, allocator
    number, elapsed = 1, 0.0
    while True:  # find a loop count that makes one round last about min_time
        began = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - began
        if elapsed >= min_time / 4:
            break
        number *= 4
    number = max(1, int(number * min_time / elapsed))
    rounds = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(number):
            fn()
        rounds.append((time.perf_counter() - began) / number)
    return statistics.median(rounds)


def report(name, ours, theirs, unit="us"):
    """Print one line: both times and nablanet's time as a multiple of PyTorch's."""
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    ratio = ours / theirs
    verdict = "faster" if ratio < 1 else "slower"
    print(f"{name:<44} nablanet {ours * scale:9.1f} {unit}   torch {theirs * scale:9.1f} {unit}   "
          f"ratio {ratio:5.2f}x ({verdict})")
    return ratio
