"""The MPI side of data parallelism: the communicator, and the replica context that the training
loop, the optimizers and the noise layers consult through `backend.replica()`.

mpi4py is an extra (`pip install 'nablanet[mpi]'`), imported on first use; importing it
initializes MPI, so nothing here runs at `import nablanet`.
"""

import os
import sys
import time

import numpy as np

from nablanet import backend

INSTALL = "pip install 'nablanet[mpi]'"
_WORLD_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


def launched_ranks():
    """How many processes the MPI launcher says this job has (1 when not launched by one)."""
    for name in _WORLD_SIZE_VARIABLES:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def mpi(where):
    """mpi4py's `MPI` module, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(f"{where}: data-parallel training needs mpi4py and an MPI library: {INSTALL} "
                          f"(mpi4py and Open MPI from PyPI), then launch with `mpirun -n N python script.py` "
                          f"({error})") from None
    return MPI


def world_size():
    """The number of MPI ranks, without importing mpi4py when no launcher started this process."""
    if launched_ranks() == 1 and "mpi4py" not in sys.modules:
        return 1
    return mpi("list_devices").COMM_WORLD.Get_size()


class Replica:
    """One rank's view of the job: its rank, the share of each global batch it holds, its own noise
    generator, and the collectives the training loop needs, each on preallocated buffers."""

    def __init__(self, comm):
        self.comm, self.rank, self.size = comm, comm.Get_rank(), comm.Get_size()
        self.fraction = 1.0 / self.size  # this rank's share of the current global batch
        self._buffers = {}
        self.allreduce_seconds = 0.0  # time spent in the gradient Allreduce, for the benchmarks
        seed = backend.random_seed()
        if seed is None:  # one seed for all: rank 0's draw
            seed = self.comm.bcast(int(np.random.SeedSequence().entropy % 2**63) if self.rank == 0 else None)
        self.reseed(seed)

    @property
    def is_chief(self):
        return self.rank == 0

    def reseed(self, seed):
        """Each rank's noise (dropout masks, augmentation) from the seed and its rank."""
        self.noise_generator = np.random.default_rng([int(seed), self.rank])

    def _buffer(self, size, dtype):
        key = np.dtype(dtype).str
        buffer = self._buffers.get(key)
        if buffer is None or buffer.size < size:
            buffer = self._buffers[key] = np.empty(size, dtype=dtype)
        return buffer[:size]

    def reduce_gradients(self, grads):
        """The global batch's gradients: each rank's, weighted by its share of the batch, summed
        over the ranks with one Allreduce on a flat buffer (None entries stay None)."""
        present = [g for g in grads if g is not None]
        if not present:
            return list(grads)
        dtype = np.result_type(*[g.dtype for g in present])
        sizes = [g.size for g in present]
        flat = self._buffer(sum(sizes), dtype)
        start = 0
        for g, n in zip(present, sizes):
            np.multiply(g.reshape(-1), self.fraction, out=flat[start:start + n], casting="unsafe")
            start += n
        began = time.perf_counter()
        self.comm.Allreduce(self.mpi.IN_PLACE, flat, op=self.mpi.SUM)
        self.allreduce_seconds += time.perf_counter() - began
        out, start = [], 0
        for g in grads:
            if g is None:
                out.append(None)
                continue
            out.append(flat[start:start + g.size].reshape(g.shape).astype(g.dtype, copy=True))
            start += g.size
        return out

    @property
    def mpi(self):
        return mpi("distribution")

    def allreduce(self, array, op="sum"):
        """A new array: `array` summed (or averaged, or its maximum) over the ranks."""
        array = np.ascontiguousarray(array)
        out = np.empty_like(array)
        self.comm.Allreduce(array, out, op=self.mpi.MAX if op == "max" else self.mpi.SUM)
        return out / self.size if op == "mean" else out

    def broadcast_arrays(self, arrays):
        """Overwrite each array in place with rank 0's values."""
        for array in arrays:
            if array.size:
                self.comm.Bcast(array, root=0)

    def bcast(self, obj):
        """Rank 0's Python object, on every rank."""
        return self.comm.bcast(obj, root=0)

    def allgather(self, obj):
        """Every rank's object, in rank order."""
        return self.comm.allgather(obj)

    def shard(self, count):
        """This rank's `slice` of a global batch of `count` samples, and its share of the batch: the
        first `count % size` ranks take one sample more, so the shares sum to the whole batch."""
        base, extra = divmod(count, self.size)
        start = self.rank * base + min(self.rank, extra)
        stop = start + base + (self.rank < extra)
        return slice(start, stop), (stop - start) / count


def abort_on_error(comm):
    """Make an unhandled exception on one rank end the whole job (MPI_Abort) instead of leaving
    the other ranks waiting in a collective."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        previous(kind, value, traceback)
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook
