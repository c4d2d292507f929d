"""W3: the MNIST-convnet-style workload, training and inference samples/s.

Conv2D(32, 3, relu) -> MaxPool 2 -> Conv2D(64, 3, relu) -> MaxPool 2 -> Flatten -> Dense(128,
relu) -> Dense(10, softmax) on 28x28x1 float32 inputs, batch 64, Adam, categorical
cross-entropy; 1,920 random training images (30 steps) and 3,840 for inference. PyTorch runs
the same network (NCHW, its native layout) in a hand-written loop; Keras the nablanet program
on its torch backend.
"""

import os
import time

import numpy as np

from benchmarks.timing import report

N_TRAIN, N_INFER, BATCH = 1920, 3840, 64


def data():
    """Training images, their one-hot labels and the inference images."""
    rng = np.random.default_rng(0)
    x = rng.random((N_TRAIN, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, N_TRAIN)]
    return x, y, rng.random((N_INFER, 28, 28, 1), dtype=np.float32)


def nablanet_model(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


def keras_like(keras, x, y, x_infer):
    model = nablanet_model(keras)
    model.fit(x[:BATCH * 2], y[:BATCH * 2], batch_size=BATCH, epochs=1, verbose=0)  # warm up
    began = time.perf_counter()
    model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False)
    train = time.perf_counter() - began
    model.predict(x_infer[:BATCH], batch_size=BATCH, verbose=0)
    began = time.perf_counter()
    model.predict(x_infer, batch_size=BATCH, verbose=0)
    return N_TRAIN / train, N_INFER / (time.perf_counter() - began)


def torch_run(x, y, x_infer):
    import torch

    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(1600, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    yt = torch.from_numpy(y.argmax(-1))
    xi = torch.from_numpy(np.ascontiguousarray(x_infer.transpose(0, 3, 1, 2)))

    def epoch(n):
        for start in range(0, n, BATCH):
            optimizer.zero_grad()
            loss = loss_fn(model(xt[start:start + BATCH]), yt[start:start + BATCH])
            loss.backward()
            optimizer.step()

    epoch(BATCH * 2)
    began = time.perf_counter()
    epoch(N_TRAIN)
    train = time.perf_counter() - began
    with torch.no_grad():
        model(xi[:BATCH])
        began = time.perf_counter()
        for start in range(0, N_INFER, BATCH):
            model(xi[start:start + BATCH])
    return N_TRAIN / train, N_INFER / (time.perf_counter() - began)


def run():
    import nablanet

    x, y, x_infer = data()
    ours, theirs = [], []
    for _ in range(5):  # interleaved, so a change in the machine's load hits both alike
        ours.append(keras_like(nablanet, x, y, x_infer))
        theirs.append(torch_run(x, y, x_infer))
    ours_train, ours_infer = np.median([o[0] for o in ours]), np.median([o[1] for o in ours])
    torch_train, torch_infer = np.median([t[0] for t in theirs]), np.median([t[1] for t in theirs])
    print(f"W3 training samples/s: nablanet {ours_train:,.0f}, torch {torch_train:,.0f}")
    print(f"W3 inference samples/s: nablanet {ours_infer:,.0f}, torch {torch_infer:,.0f}")
    report("W3 convnet training (time per sample)", 1 / ours_train, 1 / torch_train, "us")
    report("W3 convnet inference (time per sample)", 1 / ours_infer, 1 / torch_infer, "us")
    try:
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        keras_train, keras_infer = keras_like(keras, x, y, x_infer)
        report("W3 convnet training (time per sample)", 1 / ours_train, 1 / keras_train, "us", reference="keras")
        report("W3 convnet inference (time per sample)", 1 / ours_infer, 1 / keras_infer, "us", reference="keras")
    except ImportError:
        print("W3 vs Keras: keras is not installed")
