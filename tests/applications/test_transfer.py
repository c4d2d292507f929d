"""Transfer learning: freezing a base (BatchNormalization then runs in inference mode),
fine-tuning its top block, the digits 0-4 -> 5-9 demo, and a cats-vs-dogs style folder through
VGG16 feature extraction."""

import numpy as np
import pytest

import nablanet as nn
from nablanet import layers
from nablanet.applications import VGG16, vgg16


def base_and_model(seed=0):
    nn.utils.set_random_seed(seed)
    base = nn.Sequential([nn.Input((6, 6, 2)), layers.Conv2D(4, 3, name="conv1"), layers.BatchNormalization(name="bn"),
                          layers.Activation("relu"), layers.Conv2D(4, 3, name="conv2"), layers.Flatten()], name="base")
    inputs = nn.Input((6, 6, 2))
    outputs = layers.Dense(2, activation="softmax", name="head")(base(inputs, training=False))
    return base, nn.Model(inputs, outputs)


def snapshot(model):
    return {w.path: w.numpy().copy() for w in model.weights}


def test_a_frozen_base_keeps_its_weights_and_batchnorm_statistics():
    base, model = base_and_model()
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 6, 6, 2)) * 3 + 2, rng.integers(0, 2, 32)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)  # trainable: the statistics move
    before = snapshot(base)
    base.trainable = False
    model.compile("adam", "sparse_categorical_crossentropy")  # recompile after changing trainable
    assert [(w.path.split("/")[-2], w.name) for w in model.trainable_weights] == [("head", "kernel"), ("head", "bias")]
    head = model.get_layer("head").kernel.numpy().copy()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    after = snapshot(base)
    assert all(np.array_equal(before[k], after[k]) for k in before)  # moving mean/variance included
    assert not np.array_equal(head, model.get_layer("head").kernel.numpy())
    bn = base.get_layer("bn")  # in inference mode even when asked to train
    out = bn(np.full((3, 4, 4, 4), 5.0, "float32"), training=True).numpy()
    expected = (5.0 - bn.moving_mean.numpy()) / np.sqrt(bn.moving_variance.numpy() + bn.epsilon)
    np.testing.assert_allclose(out[0, 0, 0], expected * bn.gamma.numpy() + bn.beta.numpy(), rtol=1e-5)

    base.trainable = True  # fine-tune the top block only
    for layer in base.layers:
        layer.trainable = layer.name == "conv2"
    model.compile(nn.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    tuned = snapshot(base)
    changed = {k for k in before if not np.array_equal(before[k], tuned[k])}
    assert changed == {"base/conv2/kernel", "base/conv2/bias"}


def test_digits_transfer_demo_and_the_frozen_base_beating_scratch():
    """Digits 0-4 -> 5-9 with 20 labelled images per class. The demo (seed 0) prints both
    accuracies and the pretrained base's features beat random ones. The issue's claim, on three
    fixed splits (seeds 0-2): the frozen 0-4 base with a new head beats the same CNN trained from
    scratch on the 100 labelled images, on average (97.82% against 97.07% with two BLAS threads).
    Not on every split: single splits differ by a few of their ~800 test images, and the rounding
    of one or two BLAS threads alone flips seed 1."""
    pytest.importorskip("sklearn")
    from nablanet.demos import transfer

    lines = []
    result = transfer.run(out=lines.append)
    print("\n".join(lines))
    assert result["source"] > 0.97
    assert result["frozen"] > result["random_frozen"] + 0.01  # the knowledge from 0-4 carries over
    assert result["frozen"] > 0.93 and result["scratch"] > 0.93 and result["fine_tuned"] > 0.93
    assert result["assembled"] == result["frozen"]  # base + head in one model = head on cached features
    assert any("trained from scratch" in line for line in lines)
    assert any("frozen 0-4 base" in line for line in lines)

    results = [result] + [transfer.transfer(seed=seed)[0] for seed in (1, 2)]
    frozen, scratch = (np.mean([r[key] for r in results]) for key in ("frozen", "scratch"))
    print(f"frozen {frozen:.4f} scratch {scratch:.4f}", [(r["frozen"], r["scratch"]) for r in results])
    assert frozen > scratch


def test_demo_is_registered(monkeypatch, capsys):
    from nablanet import cli
    from nablanet.demos import transfer

    monkeypatch.setattr(transfer, "run", lambda out=print: out("transfer demo ran"))
    assert cli.main(["demo", "transfer"]) == 0
    assert "transfer demo ran" in capsys.readouterr().out


def write_pets(root, n=12, seed=0):
    """A cats-vs-dogs style folder: warm striped 'cats' and cool spotted 'dogs', 40x36 PNGs."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:40, 0:36]
    for label in ("cats", "dogs"):
        (root / label).mkdir(parents=True)
        for i in range(n):
            image = rng.uniform(0, 60, (40, 36, 3))
            if label == "cats":
                image[..., 0] += 150 * (np.sin(rows / 3 + rng.uniform(0, 6)) > 0)
            else:
                r, c = rng.uniform(8, 30, 2)
                image[..., 2] += 180 * ((rows - r) ** 2 + (cols - c) ** 2 < 60)
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(root / label / f"{i}.png")


def test_cats_vs_dogs_folder_end_to_end(tmp_path):
    pytest.importorskip("PIL")
    write_pets(tmp_path / "pets")
    train = nn.utils.image_dataset_from_directory(tmp_path / "pets", image_size=(32, 32), batch_size=8,
                                                 label_mode="binary", shuffle=False)
    assert train.class_names == ["cats", "dogs"]
    nn.utils.set_random_seed(0)
    base = VGG16(include_top=False, weights=None, input_shape=(32, 32, 3), pooling="avg")
    base.trainable = False
    batches = [(vgg16.preprocess_input(x), y) for x, y in train]
    features = np.concatenate([base.predict(x, verbose=0) for x, _ in batches])  # computed once, cached
    labels = np.concatenate([y for _, y in batches])
    head = nn.Sequential([nn.Input((512,)), layers.Dense(1, activation="sigmoid")])
    head.compile(nn.optimizers.Adam(1e-2), "binary_crossentropy", metrics=["accuracy"])
    history = head.fit(features / features.std(), labels, epochs=40, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

    inputs = nn.Input((32, 32, 3))  # the whole classifier: base and head in one model
    scaled = layers.Rescaling(1 / features.std())(base(inputs, training=False))
    model = nn.Model(inputs, head(scaled))
    predictions = np.concatenate([model.predict(x, verbose=0) for x, _ in batches])
    assert predictions.shape == (24, 1)
    assert np.mean((predictions > 0.5) == labels) >= 0.9
