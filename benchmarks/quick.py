"""nablanet alone, for before/after comparisons: `python -m benchmarks.quick NAME` prints the best
wall and CPU time of one workload (op_small, op_medium, w1, w3, w3i, w4) in this process.

No PyTorch or Keras runs, so each process takes seconds; run it alternately with
`PYTHONPATH=<other checkout>/src` to compare two commits. CPU time (`time.process_time`) moves
less than wall time when the machine is shared; set OPENBLAS_NUM_THREADS=1 so it counts no idle
BLAS threads spinning.
"""

import sys
import time

import numpy as np


def best(fn, repeats):
    """The smallest wall and CPU seconds of `repeats` calls of `fn`, after one call to warm up."""
    fn()
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def measure(name):
    import nablanet as keras

    rng = np.random.default_rng(0)
    if name in ("op_small", "op_medium"):
        from benchmarks.op_chain import chain_nablanet, step

        x = keras.Tensor(rng.standard_normal((1, 10) if name == "op_small" else (1000, 1000)).astype(np.float32),
                         requires_grad=True)
        one, reps = step(chain_nablanet, x), 200 if name == "op_small" else 5
        wall, cpu = best(lambda: [one() for _ in range(reps)], 7)
        return wall / reps, cpu / reps
    if name == "w1":
        from benchmarks.mlp import data, nablanet_fit

        w1 = data(800, 200, 784, 2)
        spec = [(64, "relu"), (32, "relu"), (1, "sigmoid")]
        return best(lambda: nablanet_fit(spec, "binary_crossentropy", *w1, 10), 5)
    if name in ("w3", "w3i"):
        from benchmarks.cnn import nablanet_model

        x = rng.random((640, 28, 28, 1)).astype(np.float32)
        y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 640)]
        model = nablanet_model(keras)
        if name == "w3":
            return best(lambda: model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False), 4)
        return best(lambda: model.predict(x, batch_size=64, verbose=0), 10)
    if name == "w4":
        from benchmarks import lstm

        x = rng.integers(1, lstm.VOCAB, (640, lstm.STEPS)).astype(np.int32)
        y = rng.integers(1, lstm.VOCAB, 640).astype(np.int32)
        model = lstm.build(keras, "LSTM")
        return best(lambda: model.fit(x, y, batch_size=lstm.BATCH, epochs=1, verbose=0), 4)
    raise SystemExit(f"benchmarks.quick: unknown workload {name!r}; choose op_small, op_medium, w1, w3, w3i, w4")


if __name__ == "__main__":
    for workload in sys.argv[1:]:
        wall, cpu = measure(workload)
        print(f"{workload} wall {wall * 1e3:.3f} ms cpu {cpu * 1e3:.3f} ms")
