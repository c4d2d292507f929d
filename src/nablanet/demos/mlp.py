"""The seed program: a Keras dense network on random data, trained with Adam, its output real;
then the same API on real handwritten digits when scikit-learn is installed."""

import time

import numpy as np


def seed_program():
    import nablanet as keras
    from nablanet.data import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        np.random.rand(1000, 784), np.random.randint(2, size=1000), test_size=0.2)
    model = keras.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(784,)),
        keras.layers.Dense(32, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    began = time.perf_counter()
    history = model.fit(X_train, y_train, epochs=10, batch_size=128, validation_data=(X_test, y_test))
    return model, history, time.perf_counter() - began


def digits(out):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        out("(scikit-learn is not installed: pip install 'nablanet[datasets]' for the digits run)")
        return
    import nablanet as keras
    from nablanet.data import train_test_split

    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(data.data, data.target, test_size=0.25,
                                                        random_state=0, stratify=data.target)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.layers.Dense(256, activation="relu", input_shape=(64,)),
                              keras.layers.Dropout(0.3), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    began = time.perf_counter()
    model.fit((x_train - mean) / std, y_train, epochs=40, batch_size=32, verbose=0)
    loss, accuracy = model.evaluate((x_test - mean) / std, y_test, verbose=0)
    out(f"8x8 digits (1,347 train / 450 test): test accuracy {accuracy:.2%}, loss {loss:.4f} "
        f"after 40 epochs in {time.perf_counter() - began:.1f} s")


def run(out=print):
    out("")
    out("The seed program: Dense 784-64-32-1 on random data, Adam, binary cross-entropy")
    model, history, seconds = seed_program()
    model.summary(print_fn=out)
    out(f"fit took {seconds:.3f} s; history keys: {list(history.history)}")
    out("(the labels are random, so validation accuracy stays near 50%: that is the honest result)")
    out("")
    digits(out)
