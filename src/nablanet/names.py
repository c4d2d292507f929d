"""Looking a Keras identifier up in a table of classes, and the error for a name that no table
knows, with the closest name as a hint."""

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


def lookup(identifier, table, where, kind, listed=None):
    """None, a name in `table` (an instance of its class), a `{"class_name", "config"}` dict
    (`from_config`), or a callable (returned as it is)."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        if identifier in table:
            return table[identifier]()
        raise unknown(where, kind, identifier, table, listed=listed)
    if isinstance(identifier, dict):
        return table[identifier["class_name"]].from_config(identifier.get("config", {}))
    if callable(identifier):
        return identifier
    raise TypeError(f"{where}: expected a name, a dict or a callable, got {identifier!r}")
