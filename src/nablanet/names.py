"""The error for a name that no table knows, with the closest name as a hint."""

import difflib


def unknown(where, kind, name, known, listed=None, key=None):
    """A ValueError naming the bad `name`, the nearest of `known` to `key` (the name as the table
    spells its keys, e.g. lower-cased; `name` itself by default) and, when given, the `listed` names.

    >>> unknown("losses.get", "loss", "msee", ["mse", "mae"], listed=["mae", "mse"])
    ValueError("losses.get: unknown loss 'msee'. Did you mean 'mse'? Known: mae, mse")
    """
    close = difflib.get_close_matches(name if key is None else key, list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listing = f" Known: {', '.join(listed)}" if listed is not None else ""
    return ValueError(f"{where}: unknown {kind} {name!r}.{hint}{listing}")
