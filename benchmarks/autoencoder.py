"""W5: a dense autoencoder's training epoch, samples/s.

784-128-32-128-784 (relu, sigmoid output), MSE, Adam, batch 256, one epoch of 10,000 random
inputs in [0, 1]. PyTorch runs the same network in a hand-written loop (the MSE over all outputs,
Adam with Keras's epsilon); Keras runs the nablanet program on its torch backend. Each round
builds the model, trains one epoch to warm up (allocators, kernel choices), then times two;
five rounds alternating nablanet and PyTorch, medians.
"""

import os
import time

import numpy as np

from benchmarks.timing import report

N, FEATURES, BATCH = 10_000, 784, 256


def data():
    return np.random.default_rng(0).random((N, FEATURES), dtype=np.float32)


def build(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(FEATURES,)), layers.Dense(128, activation="relu"), layers.Dense(32, activation="relu"),
        layers.Dense(128, activation="relu"), layers.Dense(FEATURES, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mse")
    return model


def keras_like(keras, x):
    model = build(keras)
    model.fit(x, x, batch_size=BATCH, epochs=1, verbose=0)  # warm up
    began = time.perf_counter()
    model.fit(x, x, batch_size=BATCH, epochs=2, verbose=0)
    return 2 * N / (time.perf_counter() - began)


def torch_run(x):
    import torch

    nn = torch.nn
    model = nn.Sequential(nn.Linear(FEATURES, 128), nn.ReLU(), nn.Linear(128, 32), nn.ReLU(),
                          nn.Linear(32, 128), nn.ReLU(), nn.Linear(128, FEATURES), nn.Sigmoid())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    data = torch.from_numpy(x)

    def epoch(n):
        order = torch.randperm(n)
        for start in range(0, n, BATCH):
            batch = data[order[start:start + BATCH]]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(batch), batch)
            loss.backward()
            optimizer.step()

    epoch(N)  # warm up
    began = time.perf_counter()
    epoch(N)
    epoch(N)
    return 2 * N / (time.perf_counter() - began)


def run():
    import nablanet

    x = data()
    ours, theirs = [], []
    for _ in range(5):  # interleaved, so a change in the machine's load hits both alike
        ours.append(keras_like(nablanet, x))
        theirs.append(torch_run(x))
    ours, theirs = float(np.median(ours)), float(np.median(theirs))
    print(f"W5 autoencoder samples/s: nablanet {ours:,.0f}, torch {theirs:,.0f} ({ours / theirs:.2f}x)")
    report("W5 autoencoder epoch (time per sample)", 1 / ours, 1 / theirs, "us")
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        report("W5 autoencoder epoch (time per sample)", 1 / ours, 1 / keras_like(keras, x), "us", reference="keras")
    except ImportError:
        print("W5 vs Keras: keras is not installed")
