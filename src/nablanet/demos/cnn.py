"""A small convolutional network on scikit-learn's 8x8 digits: progress, test accuracy and the
confusion matrix."""

import time

import numpy as np


def build():
    import nablanet as keras
    from nablanet import layers

    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.Conv2D(32, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def confusion_matrix(y_true, y_pred, classes=10):
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def run(out=print, epochs=25):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        out("(the CNN demo needs scikit-learn's digits: pip install 'nablanet[datasets]')")
        return None
    import nablanet as keras

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = keras.data.train_test_split(
        x, digits.target, test_size=0.25, random_state=0, stratify=digits.target)
    keras.utils.set_random_seed(0)
    model = build()
    out("")
    out(f"A CNN on 8x8 digits: {len(x_train)} train / {len(x_test)} test images")
    began = time.perf_counter()
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_split=0.1, verbose=2)
    seconds = time.perf_counter() - began
    predicted = model.predict(x_test, verbose=0).argmax(axis=-1)
    accuracy = float(np.mean(predicted == y_test))
    out(f"test accuracy {accuracy:.2%} after {epochs} epochs in {seconds:.1f} s")
    out("confusion matrix (rows: true digit, columns: predicted):")
    out("     " + " ".join(f"{d:>3}" for d in range(10)))
    for digit, row in enumerate(confusion_matrix(y_test, predicted)):
        out(f"  {digit}: " + " ".join(f"{v:>3}" for v in row))
    return accuracy
