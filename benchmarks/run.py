"""Run the benchmarks: `python -m benchmarks.run [NAME ...]` (all by default).

Every workload runs in nablanet and in PyTorch in this one process and prints the ratio of
nablanet's time to PyTorch's (below 1.0 means nablanet is faster).
"""

import argparse
import importlib
import os
import platform

WORKLOADS = ["op_chain", "mlp", "cnn", "autoencoder", "lstm", "attention", "transformer"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join(WORKLOADS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    import numpy as np
    import torch

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} cpus, torch threads {torch.get_num_threads()}")
    for name in args.names or WORKLOADS:
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main()
