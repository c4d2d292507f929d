"""Bayesian optimization against random search, at the same budget and seed, over several seeds.

`python -m benchmarks.tune [--seeds 5] [--trials 20] [--epochs 8] [--initial N] [--samplers tpe,gp]`
(the samplers default to tpe, and gp too where PyTorch and SciPy are installed)

The problem is `nablanet demo tune`'s: an MLP on scikit-learn's digits (600 train / 400
validation), searching units 16-128 (step 16), dropout 0-0.5 (step 0.1) and the learning rate
1e-4-3e-2 (log), objective val_accuracy, the median pruner on. For each seed every tuner gets
the same seed and budget; the table gives each search's best trial and the random search's
median completed trial, then the means over seeds. Not a test: one seed can go either way.
"""

import argparse
import os
import platform
import statistics
import tempfile
import time


def search(kind, data, directory, seed, trials, epochs, initial=None):
    from optuna.trial import TrialState

    from nablanet import tune
    from nablanet.demos.tune import build_model

    x_train, x_val, y_train, y_val = data
    common = {"objective": "val_accuracy", "max_trials": trials, "seed": seed, "directory": directory,
              "project_name": f"{kind}-{seed}"}
    if kind == "random":
        tuner = tune.RandomSearch(build_model, **common)
    else:
        tuner = tune.BayesianOptimization(build_model, sampler=kind, num_initial_points=initial, **common)
    began = time.perf_counter()
    tuner.search(x_train, y_train, epochs=epochs, batch_size=32, validation_data=(x_val, y_val), verbose=0)
    values = [t.value for t in tuner.study.get_trials(states=(TrialState.COMPLETE,))]
    return {"best": max(values), "median": statistics.median(values), "seconds": time.perf_counter() - began}


def default_samplers():
    """tpe, and gp when Optuna's GPSampler can run (it needs PyTorch and SciPy)."""
    try:
        import scipy  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        return "tpe"
    return "tpe,gp"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--initial", type=int, default=None,
                        help="random trials before the Bayesian model (default: Optuna's 10)")
    parser.add_argument("--samplers", default=None,
                        help="Bayesian samplers to compare: tpe, gp (default: tpe, and gp when "
                             "PyTorch and SciPy are installed)")
    args = parser.parse_args(argv)
    args.samplers = args.samplers or default_samplers()
    import numpy as np
    import optuna

    from nablanet.demos.tune import digits_split

    kinds = ["random", *args.samplers.split(",")]
    print(f"python {platform.python_version()}, numpy {np.__version__}, optuna {optuna.__version__}, "
          f"{os.cpu_count()} cpus; {args.trials} trials of {args.epochs} epochs, seeds 0-{args.seeds - 1}, "
          f"initial random trials {args.initial or 'Optuna default (10)'}")
    header = f"{'seed':>4}  {'random best':>11}  {'random median':>13}" + "".join(
        f"  {k + ' best':>9}" for k in kinds[1:])
    print(header)
    rows = []
    data = digits_split()
    with tempfile.TemporaryDirectory() as directory:
        for seed in range(args.seeds):
            found = {kind: search(kind, data, directory, seed, args.trials, args.epochs, args.initial)
                     for kind in kinds}
            rows.append(found)
            print(f"{seed:>4}  {found['random']['best']:>11.4f}  {found['random']['median']:>13.4f}" + "".join(
                f"  {found[k]['best']:>9.4f}" for k in kinds[1:]))
    mean = {k: statistics.mean(r[k]["best"] for r in rows) for k in kinds}
    median = statistics.mean(r["random"]["median"] for r in rows)
    print(f"{'mean':>4}  {mean['random']:>11.4f}  {median:>13.4f}" + "".join(
        f"  {mean[k]:>9.4f}" for k in kinds[1:]))
    for k in kinds[1:]:
        wins = sum(r[k]["best"] >= r["random"]["median"] for r in rows)
        beats = sum(r[k]["best"] >= r["random"]["best"] for r in rows)
        seconds = statistics.mean(r[k]["seconds"] for r in rows)
        print(f"{k}: best >= random's median trial in {wins}/{len(rows)} seeds, >= random's best in "
              f"{beats}/{len(rows)}; {seconds:.1f} s per search "
              f"(random {statistics.mean(r['random']['seconds'] for r in rows):.1f} s)")


if __name__ == "__main__":
    main()
