"""Overfitting on purpose, then fighting it: a wide network on 150 handwritten digits, trained
plain, with Dropout, with L2 and with EarlyStopping; the gap between validation and training
loss shows which helps, and each run's History is plotted."""

import os
import tempfile

VARIANTS = ("plain", "dropout", "l2", "early_stopping")


def digits_split(train_size=150, val_size=500, seed=0):
    from sklearn.datasets import load_digits

    from nablanet.data import train_test_split

    data = load_digits()
    return train_test_split(data.data / 16.0, data.target, train_size=train_size, test_size=val_size,
                            random_state=seed, stratify=data.target)


def build(variant):
    import nablanet as nn
    from nablanet import layers, regularizers

    penalty = regularizers.L2(1e-3) if variant == "l2" else None
    stack = [layers.Dense(256, activation="relu", input_shape=(64,), kernel_regularizer=penalty)]
    if variant == "dropout":
        stack.append(layers.Dropout(0.5))
    stack.append(layers.Dense(256, activation="relu", kernel_regularizer=penalty))
    if variant == "dropout":
        stack.append(layers.Dropout(0.5))
    stack.append(layers.Dense(10, activation="softmax", kernel_regularizer=penalty))
    model = nn.Sequential(stack)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(variant, data, epochs=100, seed=0):
    """Train one variant; return its History and the final train/validation loss and accuracy."""
    import nablanet as nn
    from nablanet import callbacks

    x_train, x_val, y_train, y_val = data
    nn.utils.set_random_seed(seed)
    model = build(variant)
    extra = [callbacks.EarlyStopping(patience=5, restore_best_weights=True)] if variant == "early_stopping" else []
    history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, validation_data=(x_val, y_val),
                        verbose=0, callbacks=extra)
    train_loss = model.evaluate(x_train, y_train, verbose=0)[0]
    val_loss, val_accuracy = model.evaluate(x_val, y_val, verbose=0)
    return history, {"train_loss": train_loss, "val_loss": val_loss, "gap": val_loss - train_loss,
                     "val_accuracy": val_accuracy, "epochs": len(history.history["loss"])}


def run(out=print, directory=None):
    try:
        data = digits_split()
    except ImportError:
        out("(the overfitting demo needs scikit-learn's digits: pip install 'nablanet[datasets]')")
        return {}
    directory = directory or tempfile.mkdtemp(prefix="nablanet-overfitting-")
    out("")
    out("Overfitting: Dense 256-256-10 on 150 digits, 500 for validation, Adam, up to 100 epochs")
    out(f"  {'variant':<16}{'epochs':>7}{'train loss':>12}{'val loss':>10}{'gap':>8}{'val acc':>9}")
    results = {}
    for variant in VARIANTS:
        history, r = train(variant, data)
        results[variant] = r
        out(f"  {variant:<16}{r['epochs']:>7}{r['train_loss']:>12.4f}{r['val_loss']:>10.4f}"
            f"{r['gap']:>8.4f}{r['val_accuracy']:>9.2%}")
        try:
            history.plot(directory, prefix=f"{variant}_")
        except ImportError:
            pass
    plotted = any(name.endswith(".png") for name in os.listdir(directory))
    out("  (gap = validation loss - training loss: the smaller, the less the model memorized)")
    out(f"  History plots: {directory}" if plotted else
        "  (no plots: matplotlib is not installed; pip install 'nablanet[plot]')")
    return results
