"""Keras 3's `keras.distribution`, on MPI: data-parallel training over processes and machines.

Two added lines make a Keras program data parallel; launch it with `mpirun -n N python train.py`:

    import nablanet as keras
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    model.fit(x, y, batch_size=64)   # each rank takes its share of every global batch of 64

Every rank shuffles alike and takes its slice of each global batch, so N ranks see the batches
one process sees; the gradients are averaged with one Allreduce per step; losses, metrics and
validation are aggregated over the ranks, so every rank's callbacks decide alike; only rank 0
prints and writes files. Without `mpirun` (one rank) or without `set_distribution`, training
runs in one process as before. Each device is one MPI rank (`"cpu:<rank>"`); the model is
replicated on every rank, so `ModelParallel` is not offered.
"""

import collections.abc
import contextlib
import re
import warnings

import numpy as np

from nablanet import backend
from nablanet.distribution import mpi as _mpi

__all__ = ["DataParallel", "DeviceMesh", "LayoutMap", "ModelParallel", "TensorLayout", "distribute_tensor",
           "distribution", "get_device_count", "initialize", "list_devices", "set_distribution"]

_current = [None]


def list_devices(device_type=None):
    """One device per MPI rank, as `"cpu:<rank>"` (`["cpu:0"]` when not launched by mpirun)."""
    if device_type not in (None, "cpu", "CPU"):
        raise ValueError(f"list_devices: nablanet's devices are CPU processes (MPI ranks); got "
                         f"device_type={device_type!r}")
    if _mpi.launched_ranks() > 1:
        _mpi.mpi("list_devices")  # launched by mpirun without mpi4py: say how to install it
    return [f"cpu:{rank}" for rank in range(_mpi.world_size())]


def get_device_count(device_type=None):
    """The number of devices (MPI ranks)."""
    return len(list_devices(device_type))


def initialize(job_addresses=None, num_processes=None, process_id=None):
    """Start MPI (the launcher already knows the job's processes and their addresses).

    Args:
        job_addresses: Kept for Keras's signature: `mpirun` gives the addresses.
        num_processes: If given, the number of ranks the job must have.
        process_id: If given, the rank this process must have.
    """
    MPI = _mpi.mpi("initialize")
    comm = MPI.COMM_WORLD
    if job_addresses is not None:
        warnings.warn("initialize: job_addresses is ignored: the MPI launcher (mpirun) connects the processes",
                      stacklevel=2)
    if num_processes is not None and num_processes != comm.Get_size():
        raise ValueError(f"initialize: num_processes={num_processes}, but mpirun started {comm.Get_size()} ranks")
    if process_id is not None and process_id != comm.Get_rank():
        raise ValueError(f"initialize: process_id={process_id}, but this process is rank {comm.Get_rank()}")
    _mpi.abort_on_error(comm)


class DeviceMesh:
    """Devices arranged on named axes; for data parallelism, one axis ("batch") of all ranks."""

    def __init__(self, shape, axis_names, devices=None):
        shape, axis_names = tuple(shape), list(axis_names)
        if len(shape) != len(axis_names):
            raise ValueError(f"DeviceMesh: shape {shape} and axis_names {axis_names} must have the same length")
        devices = list_devices() if devices is None else list(devices)
        if int(np.prod(shape)) != len(devices):
            raise ValueError(f"DeviceMesh: shape {shape} holds {int(np.prod(shape))} devices, but {len(devices)} "
                             f"were given ({devices})")
        self._shape, self._axis_names = shape, axis_names
        self._devices = np.array(devices, dtype=object).reshape(shape)

    shape = property(lambda self: self._shape)
    axis_names = property(lambda self: self._axis_names)
    devices = property(lambda self: self._devices)
    backend_mesh = property(lambda self: self._devices)

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How a tensor lies on a mesh: for each axis, the mesh axis it is split over (None: whole)."""

    def __init__(self, axes, device_mesh=None):
        self._axes, self._device_mesh = tuple(axes), device_mesh
        if device_mesh is not None:
            self._check(device_mesh)

    def _check(self, mesh):
        unknown = [a for a in self._axes if a is not None and a not in mesh.axis_names]
        if unknown:
            raise ValueError(f"TensorLayout: axes {unknown} are not axes of the mesh {mesh.axis_names}")

    axes = property(lambda self: self._axes)
    backend_layout = property(lambda self: self._axes)

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, mesh):
        if self._device_mesh is not None:
            raise ValueError("TensorLayout: its device_mesh is already set")
        self._check(mesh)
        self._device_mesh = mesh

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}>"


class LayoutMap(collections.abc.MutableMapping):
    """Variable paths (regular expressions) to `TensorLayout`s, as Keras's `ModelParallel` takes.
    nablanet keeps every variable whole on every rank; the map is kept for Keras programs."""

    def __init__(self, device_mesh):
        self._layouts, self._device_mesh = {}, device_mesh

    device_mesh = property(lambda self: self._device_mesh)

    def __getitem__(self, key):
        if key in self._layouts:
            return self._layouts[key]
        found = [layout for pattern, layout in self._layouts.items() if re.search(pattern, key)]
        if len(found) > 1:
            raise ValueError(f"LayoutMap: the path {key!r} matches several patterns")
        return found[0] if found else None

    def __setitem__(self, key, layout):
        if key in self._layouts:
            raise ValueError(f"LayoutMap: {key!r} already has a layout ({self._layouts[key]})")
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(layout, self._device_mesh)
        elif not isinstance(layout, TensorLayout):
            raise ValueError(f"LayoutMap: a layout must be a TensorLayout or a tuple of axes, got {layout!r}")
        elif layout.device_mesh is None:
            layout.device_mesh = self._device_mesh
        self._layouts[key] = layout

    def __delitem__(self, key):
        del self._layouts[key]

    def __iter__(self):
        return iter(self._layouts)

    def __len__(self):
        return len(self._layouts)


class _Distribution:
    """What Keras's distributions share: a mesh, the batch axis, and a scope that sets them."""

    def __init__(self, device_mesh, batch_dim_name, auto_shard_dataset=True):
        self._device_mesh, self._batch_dim_name = device_mesh, batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_process = _mpi.world_size()
        self._process_id = 0 if self._num_process == 1 else _mpi.mpi(type(self).__name__).COMM_WORLD.Get_rank()

    device_mesh = property(lambda self: self._device_mesh)
    batch_dim_name = property(lambda self: self._batch_dim_name)
    auto_shard_dataset = property(lambda self: self._auto_shard_dataset)
    num_processes = property(lambda self: self._num_process)
    data_shard_id = property(lambda self: self._process_id)

    @property
    def num_model_replicas(self):
        return self._num_process

    @contextlib.contextmanager
    def scope(self):
        """Use this distribution inside the block."""
        before = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(before)

    def get_data_layout(self, data_shape):
        """Inputs are split over the batch axis."""
        return TensorLayout([self._batch_dim_name] + [None] * (len(data_shape) - 1), self._device_mesh)

    def get_variable_layout(self, variable):
        """Every variable is whole on every rank."""
        return TensorLayout([None] * len(getattr(variable, "shape", ())), self._device_mesh)

    def get_tensor_layout(self, path):
        return None

    def distribute_dataset(self, dataset):
        """The dataset as given: `fit`, `evaluate` and `predict` give each rank its share of every batch."""
        return dataset

    def distribute_tf_dataset(self, dataset):
        raise NotImplementedError(f"{type(self).__name__}.distribute_tf_dataset: nablanet does not read "
                                  "tf.data datasets; pass arrays, a PyDataset or a generator")


class DataParallel(_Distribution):
    """Data parallelism: the model whole on every rank, each global batch split over the ranks.

    Args:
        device_mesh: A 1-D `DeviceMesh` of the ranks (default: all, on the axis "batch").
        devices: The devices, when no mesh is given (default: `list_devices()`).
        auto_shard_dataset: Kept for Keras: each rank always takes its own share of the batches.
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is None:
            devices = list_devices() if devices is None else list(devices)
            device_mesh = DeviceMesh((len(devices),), ["batch"], devices)
        elif len(device_mesh.shape) != 1:
            raise ValueError(f"DataParallel: the device mesh must be 1-D (one axis of ranks), got shape "
                             f"{device_mesh.shape}")
        if device_mesh.devices.size != _mpi.world_size():
            raise ValueError(f"DataParallel: the mesh has {device_mesh.devices.size} devices, but the job has "
                             f"{_mpi.world_size()} MPI ranks; nablanet runs one device per rank")
        super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)


class ModelParallel(_Distribution):
    """Keras's model parallelism (variables split across devices), which nablanet does not offer:
    every rank holds the whole model. Use `DataParallel`."""

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True, **kwargs):
        raise NotImplementedError("ModelParallel: nablanet keeps the whole model on every MPI rank and splits the "
                                  "data only; use keras.distribution.DataParallel()")


def distribute_tensor(tensor, layout):
    """`tensor` laid out by `layout`: whole when no axis is split, else this rank's share of the
    split axis (the batch axis, under `DataParallel`)."""
    if layout is None or all(axis is None for axis in getattr(layout, "axes", ())):
        return tensor
    split = [i for i, axis in enumerate(layout.axes) if axis is not None]
    if len(split) != 1:
        raise ValueError(f"distribute_tensor: nablanet splits one axis only, got layout {layout.axes}")
    context = backend.replica()
    if context is None:
        return tensor
    axis = split[0]
    index, _ = context.shard(np.shape(tensor)[axis])
    return tensor[(slice(None),) * axis + (index,)]


def distribution():
    """The distribution `set_distribution` set (None: one process)."""
    return _current[0]


def set_distribution(value):
    """Train data parallel under `value` (a `DataParallel`), or in one process again with None."""
    if value is not None and not isinstance(value, DataParallel):
        raise ValueError(f"set_distribution: expected a DataParallel or None, got {type(value).__name__}")
    _current[0] = value
    if value is None or value.num_processes == 1:
        backend.set_replica(None)
        return
    MPI = _mpi.mpi("set_distribution")
    _mpi.abort_on_error(MPI.COMM_WORLD)
    if backend.replica() is None:
        backend.set_replica(_mpi.Replica(MPI.COMM_WORLD))
