"""A training loop written by hand, PyTorch-style: forward, loss, backward, optimizer step.

Runs on scikit-learn's breast cancer data when scikit-learn is installed, else on a synthetic
problem.
"""

import numpy as np

import nablanet as keras
from nablanet.data import train_test_split


def load():
    try:
        from sklearn.datasets import load_breast_cancer

        data = load_breast_cancer()
        return data.data, data.target
    except ImportError:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((600, 30))
        return x, (x[:, :3].sum(axis=1) > 0).astype(int)


x, y = load()
x = (x - x.mean(axis=0)) / x.std(axis=0)
x_train, x_test, y_train, y_test = train_test_split(x.astype("float32"), y, test_size=0.25, random_state=0)

model = keras.Sequential([keras.layers.Dense(16, activation="relu", input_shape=(x.shape[1],)),
                          keras.layers.Dense(1, activation="sigmoid")])
loss_fn = keras.losses.BinaryCrossentropy()
optimizer = keras.optimizers.Adam(learning_rate=1e-2)
rng = np.random.default_rng(0)
for epoch in range(20):
    order = rng.permutation(len(x_train))
    for start in range(0, len(order), 32):
        index = order[start:start + 32]
        loss = loss_fn(y_train[index], model(x_train[index], training=True))
        loss.backward()                                   # d loss / d weight, into .grad
        optimizer.step(model.trainable_weights)           # w -= Adam's step, in place
        optimizer.zero_grad(model.trainable_weights)
    if epoch % 5 == 4:
        predictions = model.predict(x_test, verbose=0)[:, 0] > 0.5
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {np.mean(predictions == y_test):.3f}")
