"""Autoencoders on real digits: dimensionality reduction against PCA, denoising, and anomaly
detection by reconstruction error; the variational autoencoder is in `nablanet.demos.vae`.

Each part is a function the examples and tests call with fewer epochs; `run` is
`nablanet demo autoencoder`.
"""

import os
import tempfile
import time

import numpy as np


def digits(seed=0):
    """scikit-learn's 8x8 digits scaled to [0, 1] as 64-vectors: a stratified 75/25 split."""
    from sklearn.datasets import load_digits

    from nablanet.data import train_test_split

    data = load_digits()
    x = (data.data / 16.0).astype("float32")
    return train_test_split(x, data.target, test_size=0.25, random_state=seed, stratify=data.target)


def pca_mse(x_train, x_test, dimension):
    """Test-set reconstruction MSE of PCA fitted on the training set (NumPy's SVD)."""
    mean = x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    basis = vt[:dimension].T
    reconstruction = (x_test - mean) @ basis @ basis.T + mean
    return float(np.mean((reconstruction - x_test) ** 2))


def dense_autoencoder(code, features=64):
    """`Model(inputs, decoder(encoder(inputs)))`: an encoder and a decoder, each a model of its
    own, so the trained encoder alone maps data to codes."""
    import nablanet as keras
    from nablanet import layers

    encoder = keras.Sequential([
        keras.Input((features,)), layers.Dense(128, activation="relu"), layers.Dense(64, activation="relu"),
        layers.Dense(code)], name="encoder")
    decoder = keras.Sequential([
        keras.Input((code,)), layers.Dense(64, activation="relu"), layers.Dense(128, activation="relu"),
        layers.Dense(features, activation="sigmoid")], name="decoder")
    inputs = keras.Input((features,))
    autoencoder = keras.Model(inputs, decoder(encoder(inputs)), name="autoencoder")
    autoencoder.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    return autoencoder, encoder


def reduce_dimensions(data, dimensions=(2, 10), epochs=30, directory=None, out=print):
    """Train a dense autoencoder per code size; return {size: (autoencoder MSE, PCA MSE)} on the
    test set, and plot the 2-D codes by class when `directory` is given and matplotlib is there."""
    import nablanet as keras

    x_train, x_test, _, y_test = data
    results = {}
    for dimension in dimensions:
        keras.utils.set_random_seed(0)
        autoencoder, encoder = dense_autoencoder(dimension, x_train.shape[1])
        autoencoder.fit(x_train, x_train, epochs=epochs, batch_size=32, verbose=0)
        mse = float(np.mean((autoencoder.predict(x_test, verbose=0) - x_test) ** 2))
        results[dimension] = (mse, pca_mse(x_train, x_test, dimension))
        out(f"  code size {dimension:>2}: autoencoder test MSE {mse:.4f}, PCA {results[dimension][1]:.4f}")
        if dimension == 2 and directory is not None:
            path = scatter_codes(encoder.predict(x_test, verbose=0), y_test, os.path.join(directory, "codes_2d.png"))
            out(f"  2-D codes of the test digits: {path}" if path else
                "  (no scatter plot: matplotlib is not installed; pip install 'nablanet[plot]')")
    return results


def scatter_codes(codes, labels, path):
    """Save the 2-D codes coloured by class; the path, or None without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    points = axes.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=8)
    figure.colorbar(points, ax=axes, label="digit")
    axes.set(title="Autoencoder codes of the test digits", xlabel="code 1", ylabel="code 2")
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def conv_denoiser():
    """Keras's convolutional denoising autoencoder, scaled to 8x8 images."""
    import nablanet as keras
    from nablanet import layers

    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.UpSampling2D(2),
        layers.Conv2D(32, 3, activation="relu", padding="same"), layers.UpSampling2D(2),
        layers.Conv2D(1, 3, activation="sigmoid", padding="same")], name="denoiser")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def psnr(clean, other):
    """Peak signal-to-noise ratio in dB for images in [0, 1]: 10 log10(1 / MSE)."""
    return float(10 * np.log10(1.0 / np.mean((np.asarray(clean) - np.asarray(other)) ** 2)))


def denoise(data, epochs=20, noise=0.3, out=print):
    """Train on (noisy, clean) pairs; return the test PSNR of the noisy and the denoised images."""
    import nablanet as keras

    x_train, x_test = (x.reshape(-1, 8, 8, 1) for x in data[:2])
    rng = np.random.default_rng(0)
    noisy_train, noisy_test = (np.clip(x + noise * rng.standard_normal(x.shape), 0, 1).astype("float32")
                               for x in (x_train, x_test))
    keras.utils.set_random_seed(0)
    model = conv_denoiser()
    model.fit(noisy_train, x_train, epochs=epochs, batch_size=32, verbose=0)
    before, after = psnr(x_test, noisy_test), psnr(x_test, model.predict(noisy_test, verbose=0))
    out(f"  noise std {noise}: PSNR noisy {before:.1f} dB -> denoised {after:.1f} dB")
    return before, after


def anomaly_split(anomalous_digit=0, seed=0):
    """Digits other than `anomalous_digit` are normal: 1,200 of them to train on, 200 to pick the
    threshold, and a test set of the other normal ones plus every `anomalous_digit`."""
    from sklearn.datasets import load_digits

    data = load_digits()
    x, anomalous = (data.data / 16.0).astype("float32"), (data.target == anomalous_digit).astype(int)
    normal = np.flatnonzero(anomalous == 0)
    np.random.default_rng(seed).shuffle(normal)
    train, validation = normal[:1200], normal[1200:1400]
    test = np.r_[normal[1400:], np.flatnonzero(anomalous)]
    return x[train], x[validation], x[test], anomalous[test]


def detect_anomalies(epochs=60, percentile=95, seed=0, out=print):
    """Train on normal digits only, score by reconstruction error, flag above the validation
    percentile; return the detector's metrics on the held-out set, beside a baseline that scores
    by distance from the training mean (what an autoencoder must beat to earn its place)."""
    import nablanet as keras
    from nablanet import anomaly, layers

    x_train, x_validation, x_test, y_test = anomaly_split(seed=seed)
    keras.utils.set_random_seed(seed)
    features = x_train.shape[1]
    model = keras.Sequential([
        keras.Input((features,)), layers.Dense(32, activation="relu"), layers.Dense(8, activation="relu"),
        layers.Dense(32, activation="relu"), layers.Dense(features, activation="sigmoid")], name="anomaly_autoencoder")
    model.compile(optimizer="adam", loss="mse")
    model.fit(x_train, x_train, epochs=epochs, batch_size=32, verbose=0)

    def score(x):
        return anomaly.reconstruction_error(x, model.predict(x, verbose=0))

    threshold = anomaly.percentile_threshold(score(x_validation), percentile)
    scores = score(x_test)
    mean_image = np.broadcast_to(x_train.mean(axis=0), x_test.shape)
    baseline = anomaly.roc_auc(y_test, anomaly.reconstruction_error(x_test, mean_image))
    result = {"roc_auc": anomaly.roc_auc(y_test, scores), "pr_auc": anomaly.average_precision(y_test, scores),
              "precision": anomaly.precision_at_threshold(y_test, scores, threshold),
              "recall": anomaly.recall_at_threshold(y_test, scores, threshold),
              "f1": anomaly.f1_at_threshold(y_test, scores, threshold), "threshold": threshold,
              "baseline_roc_auc": baseline}
    out(f"  {int((y_test == 0).sum())} normal / {int(y_test.sum())} anomalous test digits: ROC-AUC "
        f"{result['roc_auc']:.3f} (distance from the mean: {baseline:.3f}), PR-AUC {result['pr_auc']:.3f}; "
        f"at the {percentile}th percentile of validation errors: precision {result['precision']:.2f}, "
        f"recall {result['recall']:.2f}, F1 {result['f1']:.2f}")
    return result


def run(out=print, directory=None):
    try:
        data = digits()
    except ImportError:
        out("(the autoencoder demo needs scikit-learn's datasets: pip install 'nablanet[datasets]')")
        return {}
    from nablanet.demos import vae

    directory = directory or tempfile.mkdtemp(prefix="nablanet-autoencoder-")
    began = time.perf_counter()
    out("")
    out(f"Autoencoders on {len(data[0])} train / {len(data[1])} test digits (8x8)")
    out("1. Dimensionality reduction: 64 -> code -> 64, against PCA at the same size")
    results = {"reduce": reduce_dimensions(data, directory=directory, out=out)}
    out("2. Denoising: a convolutional autoencoder (Conv2D, MaxPooling2D, UpSampling2D)")
    results["denoise"] = denoise(data, out=out)
    out("3. Anomaly detection: trained on the digits 1-9 only, the 0s flagged by reconstruction error")
    results["anomaly"] = detect_anomalies(out=out)
    out("4. A variational autoencoder: the reparameterization trick and a KL term")
    results["vae"] = vae.train(data, out=out)
    out(f"  plots in {directory}; done in {time.perf_counter() - began:.1f} s")
    return results
