"""W4: next-token language model training, sequences/s.

Vocabulary 5000, Embedding(64), sequences of 20 tokens, LSTM(128) (last state), Dense(128, relu),
Dense(5000) softmax on the next token, batch 64, Adam; the same with GRU. PyTorch runs nn.Embedding,
nn.LSTM/nn.GRU and two nn.Linear layers in a hand-written loop (cross-entropy on the logits, Adam
with Keras's epsilon); Keras runs the nablanet program on its torch backend. Each round builds
the model, trains one epoch to warm up, then times two; five rounds alternate nablanet and
PyTorch, medians. `python -m benchmarks.lstm [LSTM|GRU] [ROUNDS]` instead trains one model of each
and alternates single epochs, a view with less noise on this shared machine;
`python -m benchmarks.lstm kernel [LSTM|GRU] [ROUNDS]` times the recurrent primitive alone.
"""

import os
import time

import numpy as np

from benchmarks.timing import alternate

VOCAB, EMBED, STEPS, UNITS, BATCH = 5000, 64, 20, 128, 64
N = 64 * 40  # sequences per epoch


def data():
    rng = np.random.default_rng(0)
    return rng.integers(1, VOCAB, (N, STEPS)).astype(np.int32), rng.integers(1, VOCAB, N).astype(np.int32)


def build(keras, cell):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(STEPS,), dtype="int32"), layers.Embedding(VOCAB, EMBED), getattr(layers, cell)(UNITS),
        layers.Dense(128, activation="relu"), layers.Dense(VOCAB, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def keras_like(keras, cell, x, y, epochs=2):
    model = build(keras, cell)
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # warm up
    began = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0)
    return epochs * len(x) / (time.perf_counter() - began)


def torch_model(cell):
    """The PyTorch twin: the model, its Adam, and a function that trains one epoch on (x, y)."""
    import torch

    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, EMBED)
            self.rnn = getattr(nn, cell)(EMBED, UNITS, batch_first=True)
            self.hidden = nn.Linear(UNITS, 128)
            self.out = nn.Linear(128, VOCAB)

        def forward(self, ids):
            _, state = self.rnn(self.embedding(ids))
            h = state[0] if cell == "LSTM" else state
            return self.out(torch.relu(self.hidden(h[0])))

    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)

    def epoch(x, y):
        ids, targets = torch.from_numpy(x.astype(np.int64)), torch.from_numpy(y.astype(np.int64))
        order = torch.randperm(len(ids))
        for start in range(0, len(ids), BATCH):
            index = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(ids[index]), targets[index])
            loss.backward()
            optimizer.step()

    return epoch


def torch_run(cell, x, y):
    epoch = torch_model(cell)
    epoch(x, y)  # warm up
    began = time.perf_counter()
    epoch(x, y)
    epoch(x, y)
    return 2 * len(x) / (time.perf_counter() - began)


def _accelerated():
    """Whether nablanet's compiled kernels are on (False for a checkout that has none)."""
    try:
        from nablanet.autodiff import accel
    except ImportError:
        return False
    return accel.enabled()


def _numpy_path(train):
    """`train` with the accelerator switched off: the NumPy reference kernels."""
    from nablanet.autodiff import accel

    def run():
        accel.set_enabled(False)
        try:
            train()
        finally:
            accel.set_enabled(None)

    return run


def alternating(cell, rounds=12):
    """Another view with less noise: one nablanet model and one PyTorch model, single epochs in
    turn (and nablanet's NumPy path, with the accelerator off, when it is on); the medians of the
    epoch times. `python -m benchmarks.lstm [LSTM|GRU] [ROUNDS]`."""
    import nablanet

    x, y = data()
    model, torch_epoch = build(nablanet, cell), torch_model(cell)
    ours = lambda: model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # noqa: E731
    contestants = {"nablanet": ours, "torch": lambda: torch_epoch(x, y)}
    if _accelerated():
        contestants["nablanet, NumPy path"] = _numpy_path(ours)
    times = alternate(contestants, rounds)
    for name, spent in times.items():
        print(f"W4 {cell}, alternating epochs ({rounds} each): {name} {len(x) / spent:,.0f} sequences/s "
              f"(throughput {times['torch'] / spent:.2f}x PyTorch's)")


def kernel(cell, rounds=30):
    """The recurrent primitive alone, forward and backward on W4's shapes, against PyTorch's nn.LSTM or
    nn.GRU (forward and backward of the last state), alternating; with the accelerator on, its NumPy
    path too. `python -m benchmarks.lstm kernel [LSTM|GRU] [ROUNDS]`."""
    import torch

    from nablanet.autodiff.ops import rnn

    rng = np.random.default_rng(0)
    gates = 4 if cell == "LSTM" else 3
    x = rng.standard_normal((BATCH, STEPS, EMBED)).astype(np.float32)
    w = (rng.standard_normal((EMBED, gates * UNITS)) * 0.1).astype(np.float32)
    r = (rng.standard_normal((UNITS, gates * UNITS)) * 0.1).astype(np.float32)
    b = np.zeros((gates * UNITS,) if cell == "LSTM" else (2, gates * UNITS), np.float32)
    h0 = np.zeros((BATCH, UNITS), np.float32)
    g = np.ones((BATCH, 2 if cell == "LSTM" else 1, UNITS), np.float32)

    def ours():
        if cell == "LSTM":
            out = rnn._lstm(x, w, r, b, h0, h0, last_only=True)
            grads = rnn._lstm_vjp(g, out, x, w, r, b, h0, h0, last_only=True)
        else:
            out = rnn._gru(x, w, r, b, h0, last_only=True)
            grads = rnn._gru_vjp(g, out, x, w, r, b, h0, last_only=True)
        for grad in grads[:4]:
            grad() if callable(grad) else grad

    module = getattr(torch.nn, cell)(EMBED, UNITS, batch_first=True)
    inputs = torch.from_numpy(x).requires_grad_()

    def theirs():
        _, state = module(inputs)
        sum(part.sum() for part in (state if cell == "LSTM" else (state,))).backward()

    contestants = {"nablanet": ours, "torch": theirs}
    if _accelerated():
        contestants["nablanet, NumPy path"] = _numpy_path(ours)
    times = alternate(contestants, rounds)
    for name, spent in times.items():
        print(f"W4 {cell} kernel forward+backward: {name} {spent * 1e3:.2f} ms "
              f"({spent / times['torch']:.2f}x PyTorch's time)")


def run(rounds=5):
    import nablanet

    x, y = data()
    for cell in ("LSTM", "GRU"):
        ours, theirs = [], []
        for _ in range(rounds):  # interleaved, so a change in the machine's load hits both alike
            ours.append(keras_like(nablanet, cell, x, y))
            theirs.append(torch_run(cell, x, y))
        ours, theirs = float(np.median(ours)), float(np.median(theirs))
        print(f"W4 {cell} next-token sequences/s: nablanet {ours:,.0f}, torch {theirs:,.0f} "
              f"(throughput {ours / theirs:.2f}x PyTorch's)")
        try:
            os.environ.setdefault("KERAS_BACKEND", "torch")
            import keras

            keras_rate = keras_like(keras, cell, x[:640], y[:640], epochs=1)
            print(f"W4 {cell} Keras {keras.__version__} ({keras.backend.backend()} backend) sequences/s: "
                  f"{keras_rate:,.0f} (nablanet {ours / keras_rate:.2f}x Keras's throughput)")
        except ImportError:
            print("W4 vs Keras: keras is not installed")


if __name__ == "__main__":
    import sys

    args = sys.argv[1:]
    if args[:1] == ["kernel"]:
        kernel(args[1] if len(args) > 1 else "LSTM", int(args[2]) if len(args) > 2 else 30)
    else:
        alternating(args[0] if args else "LSTM", int(args[1]) if len(args) > 1 else 12)
