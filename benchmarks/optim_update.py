"""The optimizer's update alone on the workloads' variables, NumPy path against compiled kernels.

`python -m benchmarks.optim_update [ROUNDS]`: for W3 (the MNIST convnet), W4 (the LSTM next-word
model) and W6 (the transformer block), the model's trainable variables with random gradients; one
`optimizer.apply` per call, Adam (and SGD with momentum, RMSprop) with the accelerator off and on,
and PyTorch's Adam (its default, foreach, and fused) on tensors of the same shapes, alternated in one
process; medians in ms per step.

`python -m benchmarks.optim_update training [ROUNDS [W2|W3|W4|W5|W6 ...]]` trains one model of each
workload and alternates single epochs with the optimizer's compiled kernels and without them (every
other kernel compiled in both), and PyTorch's epoch for W4 and W6; medians of the epoch times.
"""

import sys
import time

import numpy as np

from benchmarks.timing import alternate


def shapes(workload):
    """The trainable variables' shapes of a workload's nablanet model."""
    import nablanet

    from benchmarks import cnn, lstm, transformer

    builders = {"W3": cnn.nablanet_model, "W4": lambda keras: lstm.build(keras, "LSTM"), "W6": transformer.build}
    return [tuple(v.shape) for v in builders[workload](nablanet).trainable_variables]


def contestants(variable_shapes, rng):
    import torch

    import nablanet
    from nablanet.autodiff import accel

    grads = [rng.standard_normal(s).astype(np.float32) * 1e-2 for s in variable_shapes]

    def ours(make, on):
        variables = [nablanet.Variable(rng.standard_normal(s).astype(np.float32)) for s in variable_shapes]
        optimizer = make()
        optimizer.apply(grads, variables)

        def step():
            accel.set_enabled(on)
            try:
                optimizer.apply(grads, variables)
            finally:
                accel.set_enabled(None)

        return step

    def theirs(**options):
        parameters = [torch.nn.Parameter(torch.from_numpy(rng.standard_normal(s).astype(np.float32)))
                      for s in variable_shapes]
        for p, g in zip(parameters, grads):
            p.grad = torch.from_numpy(g.copy())
        optimizer = torch.optim.Adam(parameters, lr=1e-3, eps=1e-7, **options)
        optimizer.step()

        def step():
            with torch.no_grad():
                optimizer.step()

        return step

    optimizers = nablanet.optimizers
    return {
        "Adam, NumPy": ours(optimizers.Adam, False),
        "Adam, compiled": ours(optimizers.Adam, True),
        "torch Adam (foreach)": theirs(),
        "torch Adam (fused)": theirs(fused=True),
        "SGD momentum, NumPy": ours(lambda: optimizers.SGD(momentum=0.9), False),
        "SGD momentum, compiled": ours(lambda: optimizers.SGD(momentum=0.9), True),
        "RMSprop, NumPy": ours(optimizers.RMSprop, False),
        "RMSprop, compiled": ours(optimizers.RMSprop, True),
    }


def _load_kernels():
    """Import numba now, so that small variables take the compiled update too (a program that has not
    imported numba takes it for big variables only)."""
    from nablanet.autodiff import accel

    accel.kernels("optim")


def run(rounds=7, repeat=20):
    _load_kernels()
    rng = np.random.default_rng(0)
    for workload in ("W3", "W4", "W6"):
        variable_shapes = shapes(workload)
        calls = contestants(variable_shapes, rng)
        times = {name: [] for name in calls}
        for _ in range(rounds):  # alternated, so a change in the machine's load hits each alike
            for name, call in calls.items():
                began = time.perf_counter()
                for _ in range(repeat):
                    call()
                times[name].append((time.perf_counter() - began) / repeat)
        size = sum(int(np.prod(s)) for s in variable_shapes)
        print(f"{workload}: {len(variable_shapes)} variables, {size:,} weights (float32)")
        for name, spent in times.items():
            print(f"  {name:24} {np.median(spent) * 1e3:8.3f} ms a step")


def _optimizer_on_numpy(train):
    """`train` with the optimizers' compiled kernels unavailable (the other families' kept)."""
    from nablanet.autodiff import accel

    def run():
        kernels = accel.kernels
        accel.kernels = lambda name, size=None: None if name == "optim" else kernels(name, size)
        try:
            train()
        finally:
            accel.kernels = kernels

    return run


def training(rounds=6, *names):
    import nablanet

    from benchmarks import autoencoder, cnn, lstm, mlp, transformer

    _load_kernels()
    rng = np.random.default_rng(0)
    x3 = rng.random((cnn.N_TRAIN, 28, 28, 1), dtype=np.float32)
    y3 = np.eye(10, dtype=np.float32)[rng.integers(0, 10, cnn.N_TRAIN)]
    x2, y2, _, _ = mlp.data(60000, 0, 784, 10)
    x5 = rng.random((autoencoder.N, autoencoder.FEATURES), dtype=np.float32)
    workloads = {
        "W2": lambda: (_w2_model(nablanet), x2, np.eye(10, dtype=np.float32)[y2], 128, None),
        "W3": lambda: (cnn.nablanet_model(nablanet), x3, y3, cnn.BATCH, None),
        "W4": lambda: (lstm.build(nablanet, "LSTM"), *lstm.data(), lstm.BATCH, lstm.torch_model("LSTM")),
        "W5": lambda: (autoencoder.build(nablanet), x5, x5, autoencoder.BATCH, None),
        "W6": lambda: (transformer.build(nablanet), *transformer.data(), transformer.BATCH, transformer.torch_model()),
    }
    for workload in names or workloads:
        _alternate_epochs(workload, *workloads[workload](), rounds)


def _w2_model(keras):
    """W2's network (benchmarks/mlp.py): 784-256-128-10, Adam."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def _alternate_epochs(workload, model, x, y, batch, torch_epoch, rounds):
    ours = lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0)  # noqa: E731
    contestants = {"optimizer compiled": ours, "optimizer NumPy": _optimizer_on_numpy(ours)}
    if torch_epoch is not None:
        contestants["torch"] = lambda: torch_epoch(x, y)
    spent = alternate(contestants, rounds)
    line = ", ".join(f"{name} {len(x) / t:,.0f}/s" for name, t in spent.items())
    gain = spent["optimizer NumPy"] / spent["optimizer compiled"]
    ratios = (f"; vs PyTorch {spent['torch'] / spent['optimizer compiled']:.2f}x and "
              f"{spent['torch'] / spent['optimizer NumPy']:.2f}x") if "torch" in spent else ""
    print(f"{workload}, alternating epochs ({rounds} each): {line}; compiled update {gain:.3f}x{ratios}")

if __name__ == "__main__":
    if sys.argv[1:2] == ["training"]:
        training(*(int(a) for a in sys.argv[2:3]), *sys.argv[3:])
    else:
        run(*(int(a) for a in sys.argv[1:2]))
