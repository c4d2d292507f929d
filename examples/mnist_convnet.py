"""The Keras "simple MNIST convnet", unchanged but for its imports, on 4,000 real MNIST digits
(3,200 train / 800 test), beside the same network trained the same way in PyTorch.

Usage: python examples/mnist_convnet.py [path/to/mnist_4k.npz]  (default: ../shared/data)
"""

import os
import sys
import time

import numpy as np

import nablanet as keras
from nablanet import layers

default = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "mnist_4k.npz")
path = sys.argv[1] if len(sys.argv) > 1 else default
if not os.path.exists(path):
    sys.exit(f"no MNIST sample at {path}; pass the path to mnist_4k.npz")
with np.load(path) as data:
    x, y = data["x"].astype("float32") / 255, data["y"].astype("int64")
x = x[..., None]
x_train, x_test, y_train, y_test = x[:3200], x[3200:], y[:3200], y[3200:]
num_classes, input_shape, epochs, batch_size = 10, (28, 28, 1), 8, 128

keras.utils.set_random_seed(0)
model = keras.Sequential([
    keras.Input(shape=input_shape),
    layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
    layers.MaxPooling2D(pool_size=(2, 2)),
    layers.Flatten(),
    layers.Dropout(0.5),
    layers.Dense(num_classes, activation="softmax"),
])
model.summary()
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
began = time.perf_counter()
model.fit(x_train, keras.utils.to_categorical(y_train, num_classes), batch_size=batch_size, epochs=epochs,
          validation_split=0.1)
ours_seconds = time.perf_counter() - began
ours = model.evaluate(x_test, keras.utils.to_categorical(y_test, num_classes), verbose=0)[1]

try:
    import torch
except ImportError:
    print(f"nablanet test accuracy {ours:.4f} ({ours_seconds:.1f} s); PyTorch is not installed")
    sys.exit(0)
torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, num_classes))
optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7)
xt, yt = torch.from_numpy(x_train.transpose(0, 3, 1, 2).copy()), torch.from_numpy(y_train)
train_count = int(len(xt) * 0.9)  # the same 10% held out, as validation_split does
began = time.perf_counter()
for _ in range(epochs):
    net.train()
    order = torch.randperm(train_count)
    for start in range(0, train_count, batch_size):
        index = order[start:start + batch_size]
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(net(xt[index]), yt[index]).backward()
        optimizer.step()
torch_seconds = time.perf_counter() - began
net.eval()
with torch.no_grad():
    predicted = net(torch.from_numpy(x_test.transpose(0, 3, 1, 2).copy())).argmax(-1).numpy()
theirs = float(np.mean(predicted == y_test))
print(f"test accuracy: nablanet {ours:.4f} ({ours_seconds:.1f} s), PyTorch {theirs:.4f} ({torch_seconds:.1f} s)")
