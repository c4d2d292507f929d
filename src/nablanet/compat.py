"""Keras arguments that nablanet accepts, so that Keras programs run unchanged, but does not act on.

A public function keeps such an argument in its signature and calls `warn_ignored` with it: a caller
who passes a value asking for something nablanet does not do is told so, and a caller who leaves the
default hears nothing.
"""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn_ignored(where, name, value, why, *, default=None, honoured=()):
    """Warn (UserWarning) that `where` ignores its argument `name=value`, because `why`.

    Args:
        where: The public function or class, as users call it ("Model.compile").
        name: The argument's name.
        value: What the caller passed.
        why: Why nablanet has no use for it, in a few words.
        default: The signature's default; passing it says nothing.
        honoured: Other values that ask for what nablanet does anyway (no warning either).

    The warning points at the first caller outside nablanet, so it names the user's line.

    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn_ignored("Model.save", "zipped", False, "files are always zip archives")
    >>> print(caught[0].message)
    Model.save: nablanet ignores zipped=False (files are always zip archives)
    """
    if any(_same(value, v) for v in (default, *honoured)):
        return
    warnings.warn(f"{where}: nablanet ignores {name}={value!r} ({why})", UserWarning,
                  stacklevel=_outside_nablanet())


def _same(value, expected):
    if value is expected:
        return True
    if type(value) is not type(expected) or not isinstance(value, (str, int, float, bool)):
        return False  # True == 1, and arrays compare elementwise: neither is "the default"
    return value == expected


def _outside_nablanet():
    """The `stacklevel` of the first frame, from warn_ignored's caller up, outside this package."""
    frame, level = sys._getframe(2), 2  # level 1 is warn_ignored
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
