"""Cats vs dogs with a pretrained VGG16 and a Dense head trained with Adam, as in Keras's
transfer-learning guide: feature extraction first (VGG16's features computed once, a small
head trained on them), then the head on the frozen base in one model, then fine-tuning of the
top block with a small learning rate.

    python examples/transfer_learning_vgg16.py [WEIGHTS] [--folder DIR] [--check-224]

WEIGHTS: VGG16 weights without the top: Keras's vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5,
or torchvision's vgg16 state dict converted with `safetensors.torch.save_file(model.state_dict(),
"vgg16.safetensors")`. nablanet downloads nothing; without a file the weights are random, which
runs every step but learns from random features. --folder: a folder with one subfolder of
images per class (default: a generated one, striped "cats" and spotted "dogs").
--check-224: compare full-size VGG16 (224x224, with the top) against PyTorch on the same
weights, through a safetensors file (needs torch and safetensors; about 20 s and 3 GB).
"""

import argparse
import os
import tempfile
import time

import numpy as np

import nablanet as keras
from nablanet.applications import vgg16

SIZE = 64


def generated_pets(root, per_class=30, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:80, 0:72]
    for label in ("cats", "dogs"):
        os.makedirs(os.path.join(root, label))
        for i in range(per_class):
            image = rng.uniform(0, 60, (80, 72, 3))
            if label == "cats":
                image[..., 0] += 150 * (np.sin(rows / rng.uniform(2, 5) + rng.uniform(0, 6)) > 0)
            else:
                r, c = rng.uniform(15, 60, 2)
                image[..., 2] += 180 * ((rows - r) ** 2 + (cols - c) ** 2 < rng.uniform(60, 200))
            Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(os.path.join(root, label, f"{i}.png"))
    return root


def images_and_labels(dataset):
    batches = list(dataset)
    return np.concatenate([x for x, _ in batches]), np.concatenate([y for _, y in batches])


def transfer(folder, weights):
    keras.utils.set_random_seed(0)
    options = {"image_size": (SIZE, SIZE), "batch_size": 16, "label_mode": "binary", "validation_split": 0.3,
               "seed": 1}
    train = keras.utils.image_dataset_from_directory(folder, subset="training", **options)
    validation = keras.utils.image_dataset_from_directory(folder, subset="validation", **options)
    x_train, y_train = images_and_labels(train)
    x_val, y_val = images_and_labels(validation)
    x_train, x_val = vgg16.preprocess_input(x_train), vgg16.preprocess_input(x_val)

    base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(SIZE, SIZE, 3))
    base.trainable = False
    began = time.perf_counter()
    f_train, f_val = base.predict(x_train, verbose=0), base.predict(x_val, verbose=0)
    print(f"VGG16 features of {len(x_train) + len(x_val)} images: {f_train.shape[1:]} each "
          f"({time.perf_counter() - began:.1f} s, computed once)")

    scale = float(f_train.std()) or 1.0  # random weights give features of any scale
    head = keras.Sequential([keras.Input(shape=f_train.shape[1:]), keras.layers.Rescaling(1 / scale),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dropout(0.2),
                             keras.layers.Dense(1, activation="sigmoid")])
    head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    head.fit(f_train, y_train, epochs=30, batch_size=16, validation_data=(f_val, y_val), verbose=0)
    print(f"head on cached features: validation accuracy {head.evaluate(f_val, y_val, verbose=0)[1]:.2%}")

    inputs = keras.Input(shape=(SIZE, SIZE, 3))
    model = keras.Model(inputs, head(base(inputs, training=False)))
    base.trainable = True  # fine-tune block 5, keep blocks 1-4 frozen
    for layer in base.layers:
        layer.trainable = layer.name.startswith("block5")
    model.compile(optimizer=keras.optimizers.Adam(1e-5), loss="binary_crossentropy", metrics=["accuracy"])
    began = time.perf_counter()
    model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0)
    accuracy = model.evaluate(x_val, y_val, verbose=0)[1]
    print(f"after fine-tuning block 5 for two epochs ({time.perf_counter() - began:.1f} s): "
          f"validation accuracy {accuracy:.2%}")
    print("predictions for three validation images (1 = dog):", model.predict(x_val[:3], verbose=0).ravel().round(3))


def check_full_size():
    """VGG16 at 224x224 with its 1000-class top: torchvision's layout, saved as safetensors,
    loaded into nablanet, same logits."""
    import torch
    from safetensors.torch import save_file

    config = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    modules, channels = [], 3
    for v in config:  # torchvision's vgg16() layout, module by module
        if v == "M":
            modules.append(torch.nn.MaxPool2d(2, 2))
        else:
            modules += [torch.nn.Conv2d(channels, v, 3, padding=1), torch.nn.ReLU(inplace=True)]
            channels = v
    reference = torch.nn.Module()
    reference.features = torch.nn.Sequential(*modules)
    reference.avgpool = torch.nn.AdaptiveAvgPool2d((7, 7))
    reference.classifier = torch.nn.Sequential(
        torch.nn.Linear(25088, 4096), torch.nn.ReLU(True), torch.nn.Dropout(), torch.nn.Linear(4096, 4096),
        torch.nn.ReLU(True), torch.nn.Dropout(), torch.nn.Linear(4096, 1000)).eval()
    torch.manual_seed(0)
    with torch.no_grad():  # random biases too (torchvision starts them at zero)
        for name, parameter in reference.named_parameters():
            if name.endswith("bias"):
                parameter.normal_(0, 0.1)
    x = vgg16.preprocess_input(np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32"))
    with torch.no_grad():
        t = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
        expected = reference.classifier(torch.flatten(reference.avgpool(reference.features(t)), 1)).numpy()
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vgg16.safetensors")
        save_file(reference.state_dict(), path)
        began = time.perf_counter()
        ours = keras.applications.VGG16(weights=path, classifier_activation=None)
        loaded = time.perf_counter() - began
    began = time.perf_counter()
    logits = ours.predict(x, verbose=0)
    error = float(np.abs(logits - expected).max())
    print(f"full-size VGG16 (224x224, 138M parameters): loaded in {loaded:.1f} s, 2 images in "
          f"{time.perf_counter() - began:.1f} s; largest logit difference from PyTorch {error:.1e} "
          f"(logits up to {np.abs(expected).max():.2f})")
    assert error <= 1e-4 * max(1.0, float(np.abs(expected).max())), error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", nargs="?", help="VGG16 weights without the top (.h5, .keras, .safetensors)")
    parser.add_argument("--folder", help="one subfolder of images per class")
    parser.add_argument("--check-224", action="store_true", help="compare full-size VGG16 with PyTorch")
    args = parser.parse_args()
    if args.weights is None:
        print("(random VGG16 weights: pass a weights file for pretrained features)")
    with tempfile.TemporaryDirectory() as directory:
        transfer(args.folder or generated_pets(os.path.join(directory, "pets")), args.weights)
    if args.check_224:
        check_full_size()


if __name__ == "__main__":
    main()
