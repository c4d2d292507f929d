"""Dense networks trained with Adam: the seed workload (W1) and a larger epoch (W2).

W1: 800 training / 200 validation samples of 784 random features, binary labels, a
784-64-32-1 network (relu, relu, sigmoid), binary cross-entropy, accuracy, Adam, batch 128,
10 epochs, validation after each epoch. W2: 60,000 x 784 random inputs, 10 classes, a
784-256-128-10 softmax network, categorical cross-entropy, Adam, batch 128, one epoch.

PyTorch runs the loop a PyTorch user writes (shuffle, zero_grad, forward, loss, backward,
step, accuracy; validation under no_grad); Keras runs the same program as nablanet, on its
torch backend. The start-up line times each whole seed program in a fresh interpreter.
"""

import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.timing import report


def data(n_train, n_val, features, classes, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n_train + n_val, features)).astype(np.float32)
    y = rng.integers(0, classes, n_train + n_val)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def nablanet_fit(layers_spec, loss, x, y, x_val, y_val, epochs, keras_module=None):
    import nablanet as nn

    keras = keras_module or nn
    model = keras.Sequential([keras.Input(shape=(x.shape[1],))] + [
        keras.layers.Dense(units, activation=activation) for units, activation in layers_spec])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    validation = (x_val, y_val) if x_val is not None else None
    began = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=128, validation_data=validation, verbose=0)
    return time.perf_counter() - began


def torch_fit(layers_spec, x, y, x_val, y_val, epochs, binary):
    import torch

    modules, width = [], x.shape[1]
    for units, activation in layers_spec:
        modules.append(torch.nn.Linear(width, units))
        if activation == "relu":
            modules.append(torch.nn.ReLU())
        width = units
    model = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(np.float32 if binary else np.int64))
    began = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(xt))
        correct = 0
        for start in range(0, len(xt), 128):
            index = order[start:start + 128]
            xb, yb = xt[index], yt[index]
            optimizer.zero_grad()
            logits = model(xb).squeeze(-1) if binary else model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                predicted = (logits > 0).float() if binary else logits.argmax(-1)
                correct += (predicted == yb).sum().item()
        if x_val is not None:
            with torch.no_grad():
                logits = model(torch.from_numpy(x_val)).squeeze(-1)
                loss_fn(logits, torch.from_numpy(y_val.astype(np.float32))).item()
    return time.perf_counter() - began


SEED_PROGRAM = {
    "nablanet": """
import nablanet as keras
from nablanet.data import train_test_split
import numpy as np
X_train, X_test, y_train, y_test = train_test_split(np.random.rand(1000, 784), np.random.randint(2, size=1000), test_size=0.2)
model = keras.Sequential([keras.layers.Dense(64, activation='relu', input_shape=(784,)),
    keras.layers.Dense(32, activation='relu'), keras.layers.Dense(1, activation='sigmoid')])
model.compile(optimizer='adam', loss='binary_crossentropy', metrics=['accuracy'])
model.fit(X_train, y_train, epochs=10, batch_size=128, validation_data=(X_test, y_test), verbose=0)
""",  # noqa: E501 -- the seed program as its author wrote it
    "torch": """
import numpy as np, torch
x = torch.rand(1000, 784); y = torch.randint(0, 2, (1000,)).float()
x_train, x_test, y_train, y_test = x[:800], x[800:], y[:800], y[800:]
model = torch.nn.Sequential(torch.nn.Linear(784, 64), torch.nn.ReLU(), torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3); loss_fn = torch.nn.BCEWithLogitsLoss()
for epoch in range(10):
    order = torch.randperm(800)
    for s in range(0, 800, 128):
        i = order[s:s + 128]; opt.zero_grad(); loss = loss_fn(model(x_train[i]).squeeze(-1), y_train[i]); loss.backward(); opt.step()
    with torch.no_grad():
        loss_fn(model(x_test).squeeze(-1), y_test).item()
""",  # noqa: E501 -- written as terse as the seed program it mirrors
}


def startup(name):
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", SEED_PROGRAM[name]], check=True, env=dict(os.environ, KERAS_BACKEND="torch"))
    return time.perf_counter() - began


W1_SPEC = [(64, "relu"), (32, "relu"), (1, "sigmoid")]
W2_SPEC = [(256, "relu"), (128, "relu"), (10, "softmax")]


def w1_data():
    return data(800, 200, 784, 2)


def w1_nablanet(w1, keras_module=None):
    """Seconds of one W1 fit (10 epochs with validation) in nablanet, or in `keras_module`."""
    return nablanet_fit(W1_SPEC, "binary_crossentropy", *w1, 10, keras_module=keras_module)


def w1_torch(w1):
    """Seconds of the same W1 fit in PyTorch (logits: the sigmoid is in the loss)."""
    return torch_fit(W1_SPEC[:-1] + [(1, None)], *w1, 10, binary=True)


def w2_data():
    x, y, _, _ = data(60000, 0, 784, 10)
    return x, y


def w2_nablanet(x, y):
    """Seconds of one W2 epoch in nablanet, on one-hot labels."""
    one_hot = np.eye(10, dtype=np.float32)[y]
    return nablanet_fit(W2_SPEC, "categorical_crossentropy", x, one_hot, None, None, 1)


def w2_torch(x, y):
    """Seconds of the same W2 epoch in PyTorch (logits: the softmax is in the loss)."""
    return torch_fit(W2_SPEC[:-1] + [(10, None)], x, y, None, None, 1, binary=False)


def run():
    w1 = w1_data()
    rounds = [(w1_nablanet(w1), w1_torch(w1)) for _ in range(5)]
    ours, theirs = np.median([r[0] for r in rounds]), np.median([r[1] for r in rounds])
    report("W1 seed MLP fit, 10 epochs", ours, theirs, "ms")
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        keras_time = np.median([w1_nablanet(w1, keras_module=keras) for _ in range(3)])
        report("W1 seed MLP fit, 10 epochs", ours, keras_time, "ms", reference="keras")
    except ImportError:
        print("W1 vs Keras: keras is not installed")
    report("W1 whole seed program in a fresh process", startup("nablanet"), startup("torch"), "s")

    x, y = w2_data()
    rounds = [(w2_nablanet(x, y), w2_torch(x, y)) for _ in range(3)]
    ours, theirs = np.median([r[0] for r in rounds]), np.median([r[1] for r in rounds])
    print(f"W2 samples/s: nablanet {60000 / ours:,.0f}, torch {60000 / theirs:,.0f}")
    report("W2 784-256-128-10 one epoch of 60,000", ours, theirs, "s")
