"""ONNX export (issue 17): nablanet's `predict_on_batch` against onnxruntime running the exported
file, on one batch, medians of interleaved rounds; one thread each.

Models: a CNN (Conv2D 16 and 32, pooling, BatchNormalization, Dense 10) on 32 images of
28x28x1, and a text model (Embedding 100x32 with mask_zero, LSTM 64 returning sequences, LSTM 64,
Dense 10) on 32 right-padded sequences of 50 ids, exported both ways `recurrent_masks` offers.
`python -m benchmarks.export_onnx`.
"""

import os
import tempfile
import time

import numpy as np

from benchmarks.timing import compare


def models():
    import nablanet
    from nablanet import layers

    rng = np.random.default_rng(0)
    cnn = nablanet.Sequential([
        layers.Input(shape=(28, 28, 1)), layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(), layers.Conv2D(32, 3, activation="relu"), layers.BatchNormalization(),
        layers.GlobalAveragePooling2D(), layers.Dense(10, activation="softmax")])
    images = rng.normal(size=(32, 28, 28, 1)).astype(np.float32)
    text = nablanet.Sequential([
        layers.Input(shape=(50,), dtype="int32"), layers.Embedding(100, 32, mask_zero=True),
        layers.LSTM(64, return_sequences=True), layers.LSTM(64), layers.Dense(10)])
    ids = rng.integers(1, 100, (32, 50)).astype(np.int32)
    for row, length in enumerate(rng.integers(10, 51, 32)):
        ids[row, length:] = 0
    return [("CNN", cnn, images, "scan"), ("LSTM, Scan", text, ids, "scan"),
            ("LSTM, sequence_lens", text, ids, "sequence_lens")]


def main():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    folder = tempfile.mkdtemp()
    print("| model | export (ms) | predict_on_batch (ms) | onnxruntime (ms) | ratio | max abs difference |")
    print("|---|---|---|---|---|---|")
    for name, model, x, masks in models():
        path = os.path.join(folder, "model.onnx")
        model.export(path, format="onnx", verbose=False, recurrent_masks=masks)  # onnx imported once
        began = time.perf_counter()
        model.export(path, format="onnx", verbose=False, recurrent_masks=masks)
        exported = time.perf_counter() - began
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x}
        difference = np.abs(session.run(None, feed)[0] - model.predict_on_batch(x)).max()
        ours, theirs = compare(lambda m=model, x=x: m.predict_on_batch(x),
                               lambda s=session, f=feed: s.run(None, f), repeats=9)
        print(f"| {name} | {exported * 1e3:.0f} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} | {ours / theirs:.1f}x "
              f"| {difference:.1e} |")


if __name__ == "__main__":
    main()
