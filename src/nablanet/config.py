"""`keras.config`: the process-wide settings, with Keras's names. The state lives in `nablanet.backend`.

>>> from nablanet import config
>>> config.floatx(), config.epsilon(), config.image_data_format(), config.backend()
('float32', 1e-07, 'channels_last', 'numpy')
>>> config.set_max_epochs(2); config.max_epochs()
2
>>> config.set_max_epochs(None)
"""

from nablanet import backend as _backend
from nablanet.backend import (
    backend, epsilon, floatx, image_data_format, is_interactive_logging_enabled, max_epochs, max_steps_per_epoch,
    set_epsilon, set_floatx, set_image_data_format, set_max_epochs, set_max_steps_per_epoch,
)

__all__ = [
    "DTypePolicy", "backend", "disable_flash_attention", "disable_interactive_logging", "disable_traceback_filtering",
    "dtype_policy", "enable_flash_attention", "enable_interactive_logging", "enable_traceback_filtering",
    "enable_unsafe_deserialization", "epsilon", "floatx", "image_data_format", "is_flash_attention_enabled",
    "is_interactive_logging_enabled", "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch",
    "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx", "set_image_data_format", "set_max_epochs",
    "set_max_steps_per_epoch",
]

_POLICIES = ("float16", "float32", "float64")


class DTypePolicy:
    """A dtype policy with one dtype for both variables and computations (Keras's `DTypePolicy`
    for a plain dtype name).

    >>> DTypePolicy("float64")
    <DTypePolicy "float64">
    """

    def __init__(self, name=None):
        name = floatx() if name is None else name
        if isinstance(name, str) and name.startswith("mixed_"):
            raise ValueError(
                f"DTypePolicy: mixed precision ({name!r}) is not supported; nablanet computes and "
                f"stores in one dtype. Use one of {_POLICIES}."
            )
        if name not in _POLICIES:
            raise ValueError(f"DTypePolicy: expected one of {_POLICIES}, got {name!r}")
        self.name = str(name)

    compute_dtype = property(lambda self: self.name)
    variable_dtype = property(lambda self: self.name)

    def get_config(self):
        return {"name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f'<DTypePolicy "{self.name}">'


def dtype_policy():
    """The global dtype policy: the dtype layers create their weights and compute in (`floatx()`)."""
    return DTypePolicy(floatx())


def set_dtype_policy(policy):
    """Set the global dtype policy from a name (`"float32"`, `"float64"`, `"float16"`) or a
    `DTypePolicy`; layers created afterwards use it. Mixed policies (`"mixed_float16"`,
    `"mixed_bfloat16"`) are refused: nablanet has no mixed-precision computation."""
    name = getattr(policy, "name", policy)
    set_floatx(DTypePolicy(name).name)


def enable_interactive_logging():
    """Let `fit`, `evaluate` and `predict` write their progress bars and epoch lines to stdout."""
    _backend.set_interactive_logging(True)


def disable_interactive_logging():
    """Send progress to the `nablanet` logger (INFO level) instead of stdout, as Keras sends it to
    absl's logging: nothing is printed unless the application configures logging to show it."""
    _backend.set_interactive_logging(False)


def enable_flash_attention():
    """Accepted for Keras programs and remembered; it changes nothing, because flash attention is a
    GPU kernel and nablanet's attention is one NumPy computation, already exact."""
    _backend.set_flash_attention(True)


def disable_flash_attention():
    """Accepted and remembered; nothing changes (see `enable_flash_attention`)."""
    _backend.set_flash_attention(False)


def is_flash_attention_enabled():
    """The flash-attention switch as last set (None: never set, Keras's default)."""
    return _backend.flash_attention()


def enable_traceback_filtering():
    """Accepted and remembered; nablanet's tracebacks are never filtered (its frames are plain
    Python, with no backend dispatch layers to hide), so nothing changes."""
    _backend.set_traceback_filtering(True)


def disable_traceback_filtering():
    """Accepted and remembered; nothing changes (see `enable_traceback_filtering`)."""
    _backend.set_traceback_filtering(False)


def is_traceback_filtering_enabled():
    """The traceback-filtering switch as last set (True by default, as in Keras)."""
    return _backend.traceback_filtering()


def enable_unsafe_deserialization():
    """Accepted for Keras programs, and does nothing: there is nothing unsafe to enable.

    Keras needs this to load `Lambda` layers, whose Python bytecode a file carries. nablanet never
    runs code from a file, never unpickles and never imports a module a file names, so a file's
    `Lambda` layer is refused with a message whatever this switch says.
    """


def set_backend(backend):
    """Refused: nablanet is its own backend (NumPy). To run on TensorFlow, JAX or PyTorch, use Keras
    itself with KERAS_BACKEND set; nablanet's files are Keras's, so models move between them."""
    raise NotImplementedError(
        f"set_backend: nablanet runs on NumPy only and cannot switch to {backend!r}. Use Keras itself "
        "(KERAS_BACKEND) for another backend; .keras files move between the two."
    )
