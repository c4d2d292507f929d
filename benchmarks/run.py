"""Run the benchmarks: `python -m benchmarks.run [NAME ...]` (all by default).

Every workload runs in nablanet and in PyTorch in this one process and prints the ratio of
nablanet's time to PyTorch's (below 1.0 means nablanet is faster).
"""

import argparse
import importlib
import os
import platform

WORKLOADS = ["op_chain"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", choices=[[]] + WORKLOADS, metavar="NAME")
    args = parser.parse_args(argv)
    import numpy as np
    import torch

    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
          f"{os.cpu_count()} cpus, torch threads {torch.get_num_threads()}")
    for name in args.names or WORKLOADS:
        importlib.import_module(f"benchmarks.{name}").run()


if __name__ == "__main__":
    main()
