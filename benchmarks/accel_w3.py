"""W3 with the accelerator off and on, against PyTorch, interleaved in one process.

`python -m benchmarks.accel_w3 [rounds]`: each round runs the W3 training epoch and inference
pass of benchmarks/cnn.py with the NumPy kernels, then with the compiled ones, then in PyTorch;
prints the medians and both ratios against PyTorch (samples/s, higher is better).
`python -m benchmarks.accel_w3 memory`: the peak resident memory of one W3 run (training and
inference) in a fresh process each: NumPy kernels, compiled kernels, PyTorch
(`python -m benchmarks.memory W3`, which measures every workload so).
"""

import sys

import numpy as np

from benchmarks import cnn, memory


def run(rounds=5):
    import nablanet
    from nablanet.autodiff import accel

    x, y, x_infer = cnn.data()
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


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        memory.main(["W3"])
    else:
        run(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
