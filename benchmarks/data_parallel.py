"""Data-parallel training over MPI ranks on this machine, and a cost model for many machines.

`python -m benchmarks.data_parallel` runs W2 (the 784-256-128-10 MLP, batch 128) and W3 (the
MNIST convnet, batch 64) twice: one process with 2 threads, and `mpirun -n 2` with 1 thread per
rank (same global batch, same batches). It prints samples/s of each, their ratio, and the share
of each step the ranks spend in the gradient Allreduce. Then the cost model: bytes Allreduced per
step against measured compute per step, predicting the scaling efficiency of W2, W3 and the W6
transformer block on 8 and 64 machines linked at 10 and 100 Gbit/s.

`python -m benchmarks.data_parallel worker W2 [threads]` is one run of one workload (what the
driver launches, with or without mpirun); rank 0 prints a JSON line.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

EPOCH_SAMPLES = {"W2": 12_800, "W3": 3_840}
BATCH = {"W2": 128, "W3": 64}


def model_and_data(name, keras):
    rng = np.random.default_rng(0)
    layers = keras.layers
    if name == "W2":
        model = keras.Sequential([keras.Input(shape=(784,)), layers.Dense(256, activation="relu"),
                                  layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
        x = rng.random((EPOCH_SAMPLES[name], 784), dtype=np.float32)
    else:
        from benchmarks.cnn import nablanet_model

        model = nablanet_model(keras)
        x = rng.random((EPOCH_SAMPLES[name], 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, len(x))]
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model, x, y


def worker(name):
    import nablanet as keras

    distributed = keras.distribution.get_device_count() > 1
    if distributed:
        keras.distribution.set_distribution(keras.distribution.DataParallel())
    model, x, y = model_and_data(name, keras)
    batch = BATCH[name]
    model.fit(x[:batch * 4], y[:batch * 4], batch_size=batch, epochs=1, verbose=0)  # warm up
    replica = keras.backend.replica()
    if replica is not None:
        replica.allreduce_seconds = 0.0
    began = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - began
    if replica is None or replica.is_chief:
        parameters = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        print(json.dumps({"samples_per_s": len(x) / seconds, "steps": len(x) // batch, "seconds": seconds,
                          "allreduce_share": 0.0 if replica is None else replica.allreduce_seconds / seconds,
                          "parameters": parameters}), flush=True)


def launch(name, ranks, threads):
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads), NABLANET_NUM_THREADS=str(threads),
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [sys.executable, "-m", "benchmarks.data_parallel", "worker", name]
    if ranks > 1:
        mpirun = shutil.which("mpirun", path=os.path.dirname(sys.executable)) or shutil.which("mpirun")
        command = [mpirun, "-n", str(ranks), "--oversubscribe", "--bind-to", "none"] + command
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the cost model ----------------------------------------------------------------------------------

NETWORKS = {"10 Gbit/s Ethernet (TCP)": (10e9 / 8, 25e-6), "100 Gbit/s (RDMA)": (100e9 / 8, 3e-6)}


def allreduce_seconds(nbytes, nodes, bandwidth, latency):
    """A ring Allreduce: each node sends and receives 2 (n-1)/n of the buffer, in 2 (n-1) steps."""
    if nodes == 1:
        return 0.0
    return 2 * (nodes - 1) / nodes * nbytes / bandwidth + 2 * (nodes - 1) * latency


def transformer_block_cost():
    """W6's step: its parameters and its measured seconds per step in one process."""
    import nablanet

    from benchmarks import transformer

    x, y = transformer.data()
    rate = transformer.keras_like(nablanet, x, y)
    parameters = sum(int(np.prod(w.shape)) for w in transformer.build(nablanet).trainable_weights)
    return parameters, transformer.BATCH / rate


def cost_model(measured):
    """Rows of predicted scaling efficiency: compute / (compute + Allreduce), with no overlap."""
    rows = []
    for name, (parameters, step_seconds) in measured.items():
        nbytes = 4 * parameters  # float32 gradients
        for network, (bandwidth, latency) in NETWORKS.items():
            for nodes in (8, 64):
                comm = allreduce_seconds(nbytes, nodes, bandwidth, latency)
                rows.append((name, parameters, step_seconds, network, nodes, comm,
                             step_seconds / (step_seconds + comm)))
    return rows


def run():
    results = {}
    for name in ("W2", "W3"):
        one = [launch(name, 1, 2) for _ in range(3)]
        two = [launch(name, 2, 1) for _ in range(3)]
        rate1 = float(np.median([r["samples_per_s"] for r in one]))
        rate2 = float(np.median([r["samples_per_s"] for r in two]))
        share = float(np.median([r["allreduce_share"] for r in two]))
        results[name] = (one[0]["parameters"], one[0]["seconds"] / one[0]["steps"])
        print(f"{name} data parallel: 1 process x 2 threads {rate1:,.0f} samples/s, 2 ranks x 1 thread "
              f"{rate2:,.0f} samples/s ({rate2 / rate1:.2f}x); Allreduce {share:.1%} of the 2-rank step")
    results["W6"] = transformer_block_cost()
    print("cost model (ring Allreduce of float32 gradients, no overlap; compute per step as measured here, "
          "per-node batch as in the 1-process run):")
    for name, parameters, step, network, nodes, comm, efficiency in cost_model(results):
        print(f"  {name} ({parameters:,} params, {step * 1e3:.1f} ms/step) on {nodes} nodes, {network}: "
              f"Allreduce {comm * 1e3:.2f} ms, efficiency {efficiency:.0%}")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "worker":
        worker(sys.argv[2])
    else:
        run()
