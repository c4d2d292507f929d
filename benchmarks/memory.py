"""Peak resident memory of W1-W6, nablanet against PyTorch, one fresh process per run.

`python -m benchmarks.memory [NAME ...]` (W1 ... W6, all by default) runs each workload once in a
fresh interpreter per framework: nablanet with the accelerator off (`NABLANET_ACCEL=0`), nablanet
with it on, and PyTorch. Each process builds the data and model of the timing benchmark
(benchmarks/mlp.py, cnn.py, lstm.py, autoencoder.py, transformer.py, through their own builders)
and trains the steps one round of that benchmark trains, warm-up included, with its inference pass
where it has one. Two more processes only import the frameworks (numpy and nablanet; numpy and
torch), the baselines of the "above import" column.

Columns, in MiB: the process's peak resident set ("peak"; Linux's VmHWM, which unlike
`ru_maxrss` leaves out the parent's memory charged before `exec`), that peak above the framework's
import-only process, the data's resident size, and the peak while building the model, training
and predicting, above the resident size once the data was built (the high-water mark is reset
there, so the column is the framework's working memory rather than the temporaries that made the
data). Where /proc is missing (not Linux) only the peak is given, from `ru_maxrss`. `--jobs`
runs several processes at a time; each still measures only itself.
"""

import argparse
import importlib
import json
import os
import resource
import sys

WORKLOADS = {
    "W1": "seed MLP, 10 epochs of 800 with validation",
    "W2": "MLP 784-256-128-10, one epoch of 60,000",
    "W3": "convnet, 128 warm-up + 1,920 training, 64 + 3,840 inference",
    "W4 LSTM": "next-token LSTM, 3 epochs of 2,560 sequences",
    "W4 GRU": "next-token GRU, 3 epochs of 2,560 sequences",
    "W5": "autoencoder, 3 epochs of 10,000",
    "W6": "transformer block, 3 epochs of 640",
}
RUNS = (("nablanet, NumPy kernels", "nablanet", "0"), ("nablanet, compiled kernels", "nablanet", "1"),
        ("PyTorch", "torch", "0"))


def _status():
    """VmRSS and VmHWM of this process in KiB, or None where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status)
    except OSError:
        return None
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


def _peak_kib():
    status = _status()
    if status is not None:
        return status["VmHWM"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes on macOS, KiB on Linux


def _reset_peak():
    """Lower the high-water mark to the present resident size; False where the kernel cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _workload(name, framework):
    """(build the data as a tuple, train on it) for one workload in one framework, from its benchmark module."""
    if name in ("W1", "W2"):
        mlp = importlib.import_module("benchmarks.mlp")
        if name == "W1":
            return lambda: (mlp.w1_data(),), mlp.w1_torch if framework == "torch" else mlp.w1_nablanet
        return mlp.w2_data, mlp.w2_torch if framework == "torch" else mlp.w2_nablanet
    if name.startswith("W4"):
        lstm, cell = importlib.import_module("benchmarks.lstm"), name.split()[1]
        if framework == "torch":
            return lstm.data, lambda x, y: lstm.torch_run(cell, x, y)
        return lstm.data, lambda x, y: lstm.keras_like(sys.modules["nablanet"], cell, x, y)
    module = importlib.import_module({"W3": "benchmarks.cnn", "W5": "benchmarks.autoencoder",
                                      "W6": "benchmarks.transformer"}[name])
    build = (lambda: (module.data(),)) if name == "W5" else module.data
    if framework == "torch":
        return build, module.torch_run
    return build, lambda *arrays: module.keras_like(sys.modules["nablanet"], *arrays)


def one(name, framework):
    """Run one workload (only the imports for `name` "import") in this process; its figures in KiB."""
    import numpy  # noqa: F401 -- part of both baselines

    importlib.import_module(framework)
    if name == "import":
        return {"import": _peak_kib()}
    build, train = _workload(name, framework)
    imported = _status()
    arrays = build()
    built = _status()
    if built is None or not _reset_peak():
        train(*arrays)
        return {"peak": _peak_kib(), "compiled": _compiled()}
    train(*arrays)
    trained = _status()
    return {"peak": max(built["VmHWM"], trained["VmHWM"]), "data": built["VmRSS"] - imported["VmRSS"],
            "training": trained["VmHWM"] - built["VmRSS"], "compiled": _compiled()}


def _compiled():
    """Whether a numba kernel of nablanet's was compiled in this process rather than loaded from the disk cache."""
    for name, module in list(sys.modules.items()):
        if name.startswith("nablanet.autodiff.accel_"):
            for value in vars(module).values():
                stats = getattr(value, "stats", None)
                if stats is not None and sum(getattr(stats, "cache_misses", {}).values()):
                    return True
    return False


def _child(name, framework, accel):
    import subprocess

    env = dict(os.environ, NABLANET_ACCEL=accel)
    done = subprocess.run([sys.executable, "-m", "benchmarks.memory", "--one", name, framework],
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode:
        raise RuntimeError(f"benchmarks.memory: {name} in {framework} (NABLANET_ACCEL={accel}) exited with "
                           f"{done.returncode}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _versions():
    import importlib.metadata
    import platform

    names = ("numpy", "torch", "numba", "llvmlite")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} absent")
    return f"python {platform.python_version()}, " + ", ".join(found) + f", {os.cpu_count()} cpus"


def _mib(kib):
    return "" if kib is None else f"{kib / 1024:,.0f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="W1, W2, W3, W4 (LSTM and GRU), W5, W6")
    parser.add_argument("--jobs", type=int, default=1, help="processes at a time (each measures only itself; more than "
                        "one helps only where the cores outnumber every process's threads)")
    parser.add_argument("--one", nargs=2, metavar=("WORKLOAD", "FRAMEWORK"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        name, framework = args.one
        print(json.dumps(one(name.replace("_", " "), framework)))
        return
    wanted = [name.upper() for name in args.names] or ["W1", "W2", "W3", "W4", "W5", "W6"]
    unknown = [name for name in wanted if name not in WORKLOADS and name != "W4"]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from W1, W2, W3, W4, W5, W6")
    rows = [row for row in WORKLOADS if row.split()[0] in wanted]
    import concurrent.futures
    import time

    began = time.perf_counter()
    print(_versions())
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        baselines = {framework: pool.submit(_child, "import", framework, "0") for framework in ("nablanet", "torch")}
        runs = {row: [(label, framework, pool.submit(_child, row.replace(" ", "_"), framework, accel))
                      for label, framework, accel in RUNS] for row in rows}
        baselines = {framework: future.result()["import"] for framework, future in baselines.items()}
        print(f"import only: numpy + nablanet {_mib(baselines['nablanet'])} MiB, "
              f"numpy + torch {_mib(baselines['torch'])} MiB")
        print("| workload | run | peak | above import | data | model and training above data | peak vs PyTorch's |")
        print("|---|---|---|---|---|---|---|")
        for row, measured in runs.items():
            measured = [(label, framework, future.result()) for label, framework, future in measured]
            torch_peak = measured[-1][2]["peak"]
            for label, framework, figures in measured:
                label += " (compiling them)" if figures["compiled"] else ""
                print(f"| {row} ({WORKLOADS[row]}) | {label} | {_mib(figures['peak'])} | "
                      f"{_mib(figures['peak'] - baselines[framework])} | {_mib(figures.get('data'))} | "
                      f"{_mib(figures.get('training'))} | {figures['peak'] / torch_peak:.2f}x |", flush=True)
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"{2 + 3 * len(rows)} processes in {time.perf_counter() - began:.0f} s "
          f"({used.ru_utime + used.ru_stime:.0f} s of CPU time)")


if __name__ == "__main__":
    main()
