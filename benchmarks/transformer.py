"""W6: one transformer encoder block, training samples/s.

Input (batch 32, 64 tokens, 64 features); MultiHeadAttention(4 heads, key_dim 16) with a residual
connection and LayerNormalization; feed-forward 64 -> 256 (relu) -> 64 with a residual connection
and LayerNormalization; GlobalAveragePooling1D; Dense(10); sparse categorical cross-entropy from
the logits; Adam. PyTorch runs the same block with nn.MultiheadAttention(64, 4, batch_first=True),
nn.LayerNorm and nn.Linear in a hand-written loop (Adam with Keras's epsilon); Keras runs the
nablanet program on its torch backend. Each round builds the model, trains one epoch to warm up,
then times two; rounds alternate nablanet and PyTorch, medians.

`python -m benchmarks.transformer profile` instead profiles nablanet's training step (cProfile)
and prints where the time goes; `... kernels` times the fused attention and layer-norm kernels forward
and backward on W6's shapes, the layer norm compiled and in NumPy, alternating.
"""

import os
import time

import numpy as np

BATCH, TOKENS, FEATURES, HEADS, KEY_DIM, HIDDEN, CLASSES = 32, 64, 64, 4, 16, 256, 10
N = BATCH * 20  # samples per epoch


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, TOKENS, FEATURES)).astype(np.float32), rng.integers(0, CLASSES, N)


def build(keras):
    """The block as a Keras program: the same code builds it in nablanet and in Keras."""
    layers = keras.layers
    inputs = keras.Input((TOKENS, FEATURES))
    attended = layers.MultiHeadAttention(HEADS, KEY_DIM)(inputs, inputs)
    x = layers.LayerNormalization()(layers.Add()([inputs, attended]))
    fed = layers.Dense(FEATURES)(layers.Dense(HIDDEN, activation="relu")(x))
    x = layers.LayerNormalization()(layers.Add()([x, fed]))
    outputs = layers.Dense(CLASSES)(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def keras_like(keras, x, y, epochs=2):
    model = build(keras)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm up
    began = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
    return epochs * len(x) / (time.perf_counter() - began)


def torch_model():
    """The PyTorch twin: a function that trains one epoch on (x, y)."""
    import torch

    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(FEATURES, HEADS, batch_first=True)
            self.norm1, self.norm2 = nn.LayerNorm(FEATURES, eps=1e-3), nn.LayerNorm(FEATURES, eps=1e-3)
            self.hidden, self.back = nn.Linear(FEATURES, HIDDEN), nn.Linear(HIDDEN, FEATURES)
            self.out = nn.Linear(FEATURES, CLASSES)

        def forward(self, x):
            x = self.norm1(x + self.attention(x, x, x, need_weights=False)[0])
            x = self.norm2(x + self.back(torch.relu(self.hidden(x))))
            return self.out(x.mean(dim=1))

    model = Block()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def epoch(x, y):
        inputs, targets = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
        order = torch.randperm(len(inputs))
        for start in range(0, len(inputs), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(inputs[index]), targets[index])
            loss.backward()
            optimizer.step()

    return epoch


def torch_run(x, y):
    epoch = torch_model()
    epoch(x, y)  # warm up
    began = time.perf_counter()
    epoch(x, y)
    epoch(x, y)
    return 2 * len(x) / (time.perf_counter() - began)


def run(rounds=5):
    import nablanet

    x, y = data()
    ours, theirs = [], []
    for _ in range(rounds):  # interleaved, so a change in the machine's load hits both alike
        ours.append(keras_like(nablanet, x, y))
        theirs.append(torch_run(x, y))
    ours, theirs = float(np.median(ours)), float(np.median(theirs))
    print(f"W6 transformer block training samples/s: nablanet {ours:,.0f}, torch {theirs:,.0f} "
          f"(throughput {ours / theirs:.2f}x PyTorch's)")
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        keras_rate = float(np.median([keras_like(keras, x, y, epochs=1) for _ in range(3)]))
        print(f"W6 Keras {keras.__version__} ({keras.backend.backend()} backend) samples/s: {keras_rate:,.0f} "
              f"(nablanet {ours / keras_rate:.2f}x Keras's throughput)")
    except ImportError:
        print("W6 vs Keras: keras is not installed")


def profile(epochs=3, top=25):
    """cProfile over `epochs` of nablanet's training (after a warm-up epoch): the functions with
    the most time of their own, then the most time including what they call."""
    import cProfile
    import pstats

    import nablanet

    x, y = data()
    model = build(nablanet)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.runcall(model.fit, x, y, batch_size=BATCH, epochs=epochs, verbose=0)
    elapsed = time.perf_counter() - began
    steps = epochs * N // BATCH
    print(f"W6 nablanet under cProfile: {elapsed / steps * 1e3:.1f} ms per step of {BATCH} ({steps} steps)")
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def _alternate(variants, repeats):
    """Median seconds of each `(name, setup, fn)` variant, the variants alternating `repeats` times."""
    times = {name: [] for name, _, _ in variants}
    for _ in range(repeats):
        for name, setup, fn in variants:
            setup()
            began = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - began)
    return {name: float(np.median(values)) for name, values in times.items()}


def kernels(repeats=200):
    """The attention and layer-norm primitives forward and backward on W6's shapes."""
    from nablanet.autodiff import REGISTRY, accel

    rng = np.random.default_rng(0)
    q, k, v, g = (rng.standard_normal((BATCH, TOKENS, HEADS, KEY_DIM)).astype(np.float32) for _ in range(4))
    x, dy = (rng.standard_normal((BATCH, TOKENS, FEATURES)).astype(np.float32) for _ in range(2))
    gamma, beta = rng.standard_normal(FEATURES).astype(np.float32), rng.standard_normal(FEATURES).astype(np.float32)

    def both_ways(name, *inputs, **params):
        op = REGISTRY[name]
        out = op.forward(*inputs, **params)
        for cotangent in op.vjp(dy if name == "normalize_last" else g, out, *inputs, **params):
            cotangent() if callable(cotangent) else cotangent

    attention = (lambda: both_ways("dot_product_attention", q, k, v, scale=KEY_DIM ** -0.5))
    norm = (lambda: both_ways("normalize_last", x, gamma, beta, epsilon=1e-3))
    variants = [("attention", lambda: None, attention), ("layer norm, NumPy", lambda: accel.set_enabled(False), norm),
                ("layer norm, compiled", lambda: accel.set_enabled(None), norm)]
    for name, seconds in _alternate(variants, repeats).items():
        print(f"{name}: {seconds * 1e3:.3f} ms forward + backward")


if __name__ == "__main__":
    import sys

    modes = {"profile": profile, "kernels": kernels}
    modes[sys.argv[1]]() if sys.argv[1:] and sys.argv[1] in modes else run()
