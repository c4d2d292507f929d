"""Timing helpers shared by the workloads: warm up, interleave, keep the median."""

import statistics
import time


def _loops_for(fn, min_time):
    """A loop count that makes one round of `fn` last about `min_time` seconds."""
    number = 1
    while True:
        began = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - began
        if elapsed >= min_time / 4:
            return max(1, int(number * min_time / elapsed))
        number *= 4


def _round(fn, number):
    began = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - began) / number


def compare(ours, theirs, *, min_time=0.2, repeats=9):
    """Median seconds per call of `ours` and of `theirs`.

    Rounds alternate between the two, so that a slow spell of the machine (the other core
    busy, a frequency change) falls on both rather than on one.
    """
    ours(), theirs()  # warm up: caches, lazy imports, the allocator
    n_ours, n_theirs = _loops_for(ours, min_time), _loops_for(theirs, min_time)
    times_ours, times_theirs = [], []
    for _ in range(repeats):
        times_ours.append(_round(ours, n_ours))
        times_theirs.append(_round(theirs, n_theirs))
    return statistics.median(times_ours), statistics.median(times_theirs)


def report(name, ours, theirs, unit="us", reference="torch"):
    """Print one line: both times and nablanet's time as a multiple of the reference's."""
    scale = {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
    ratio = ours / theirs
    verdict = "faster" if ratio < 1 else "slower"
    print(f"{name:<44} nablanet {ours * scale:9.1f} {unit}   {reference} {theirs * scale:9.1f} {unit}   "
          f"ratio {ratio:5.2f}x ({verdict})")
    return ratio


def alternate(contestants, rounds):
    """Median seconds of each zero-argument function in the dict `contestants`, called in turn
    `rounds` times after one warm-up call each, so a change in the machine's load hits all alike."""
    times = {name: [] for name in contestants}
    for call in contestants.values():
        call()
    for _ in range(rounds):
        for name, call in contestants.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return {name: statistics.median(spent) for name, spent in times.items()}
