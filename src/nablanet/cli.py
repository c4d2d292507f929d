"""The `nablanet` command: `nablanet demo [NAME]`, `nablanet version`."""

import argparse
import importlib
import inspect
import sys
import time

# name -> (module under nablanet.demos, one-line description, part of the bare tour)
DEMOS = {
    "calculus": ("calculus", "derivatives as limits vs autodiff, integrals, GD/Adam/Newton", True),
    "mlp": ("mlp", "the seed Keras program (Dense, Adam) and an MLP on real digits", True),
    "cnn": ("cnn", "a convolutional network on real digits, with its confusion matrix", False),
    "overfitting": ("overfitting", "Dropout, L2 and EarlyStopping against overfitting, with plots", False),
    "autoencoder": ("autoencoder", "autoencoders: codes vs PCA, denoising, anomalies, a VAE", False),
    "lstm": ("lstm", "next-word prediction with an LSTM vs a bigram baseline, and generated text", False),
    "transformer": ("transformer", "a small transformer vs the LSTM and the bigram at the same training time", False),
    "tune": ("tune", "hyperparameter search on digits: random vs Bayesian (Optuna), with plots", False),
    "transfer": ("transfer", "transfer learning: digits 0-4 -> 5-9 from 20 images per class vs scratch", False),
}


def _run_demo(name, options):
    module = importlib.import_module(f"nablanet.demos.{DEMOS[name][0]}")
    accepted = inspect.signature(module.run).parameters
    module.run(**{k: v for k, v in options.items() if v is not None and k in accepted})


def demo(names, **options):
    """Run the named demos, or the quick tour of all of them when none is named."""
    unknown = [n for n in names if n not in DEMOS]
    if unknown:
        print(f"nablanet demo: unknown demo {unknown[0]!r}; choose from: {', '.join(DEMOS)}",
              file=sys.stderr)
        return 2
    began = time.perf_counter()
    chosen = names or [n for n, (_, _, in_tour) in DEMOS.items() if in_tour]
    if not names:
        print("nablanet: a tour of deep learning with the calculus made explicit")
    for name in chosen:
        _run_demo(name, options)
    print(f"\n(done in {time.perf_counter() - began:.1f} s)")
    if not names:
        print("\nDemos: " + "; ".join(f"nablanet demo {n}: {d}" for n, (_, d, _) in DEMOS.items()))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nablanet", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser("demo", help="run a demo (all of the quick ones by default)")
    run_demo.add_argument("names", nargs="*", metavar="NAME", help=", ".join(DEMOS))
    run_demo.add_argument("--text", help="lstm, transformer: a text file (or folder of .txt files) to train on")
    run_demo.add_argument("--seconds", type=float,
                          help="lstm, transformer: the training time budget, per model (default 120, 60)")
    commands.add_parser("version", help="print the version")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo(args.names, text=args.text, seconds=args.seconds)
    from nablanet import __version__

    print(f"nablanet {__version__}")
    return 0
