"""W3 with the accelerator off and on, against PyTorch, interleaved in one process.

`python -m benchmarks.accel_w3 [rounds]`: each round runs the W3 training epoch and inference
pass of benchmarks/cnn.py with the NumPy kernels, then with the compiled ones, then in PyTorch;
prints the medians and both ratios against PyTorch (samples/s, higher is better).
`python -m benchmarks.accel_w3 memory`: the peak resident memory of one W3 run (training and
inference) in a fresh process each: NumPy kernels, compiled kernels, PyTorch.
"""

import os
import resource
import subprocess
import sys

import numpy as np

from benchmarks import cnn


def run(rounds=5):
    import nablanet
    from nablanet.autodiff import accel

    x, y, x_infer = _data()
    results = {"numpy": [], "accel": [], "torch": []}
    for _ in range(rounds):
        for name, on in (("numpy", False), ("accel", True)):
            accel.set_enabled(on)
            results[name].append(cnn.keras_like(nablanet, x, y, x_infer))
        accel.set_enabled(None)
        results["torch"].append(cnn.torch_run(x, y, x_infer))
    medians = {name: np.median(np.array(runs), axis=0) for name, runs in results.items()}
    torch_train, torch_infer = medians["torch"]
    print(f"torch: training {torch_train:,.0f} samples/s, inference {torch_infer:,.0f}")
    for name in ("numpy", "accel"):
        train, infer = medians[name]
        print(f"{name}: training {train:,.0f} samples/s ({train / torch_train:.2f}x torch), "
              f"inference {infer:,.0f} ({infer / torch_infer:.2f}x torch)")


def _data():
    rng = np.random.default_rng(0)
    x = rng.random((cnn.N_TRAIN, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, cnn.N_TRAIN)]
    return x, y, rng.random((cnn.N_INFER, 28, 28, 1), dtype=np.float32)


def _one_run(kind):
    x, y, x_infer = _data()
    if kind == "torch":
        cnn.torch_run(x, y, x_infer)
    else:
        import nablanet

        cnn.keras_like(nablanet, x, y, x_infer)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # KiB on Linux


def memory():
    for kind, accel in (("numpy", "0"), ("accel", "1"), ("torch", "0")):
        env = dict(os.environ, NABLANET_ACCEL=accel)
        done = subprocess.run([sys.executable, "-m", "benchmarks.accel_w3", "one", kind], capture_output=True,
                              text=True, env=env, timeout=600, check=True)
        print(f"{kind}: peak resident memory {done.stdout.split()[-1]} MiB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        memory()
    elif sys.argv[1:2] == ["one"]:
        _one_run(sys.argv[2])
    else:
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
