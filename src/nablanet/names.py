"""Names: Keras's snake case of a class name, unique default names, looking a Keras identifier
up in a table of classes, and the error for a name that no table knows (with the closest name
as a hint)."""

import difflib
import re

_uses = {}  # prefix -> how many names it has given, shared by layers, optimizers and variables


def snake_case(name):
    """Keras's snake case of a class name: the name Keras gives its instances.

    >>> snake_case("Conv2D"), snake_case("BatchNormalization"), snake_case("LSTM"), snake_case("SimpleRNN")
    ('conv2d', 'batch_normalization', 'lstm', 'simple_rnn')
    """
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # a capitalized word starts a new part
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()  # so does a capital after a lower-case letter


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`... as Keras names objects.

    >>> unique_name("doctest_layer"), unique_name("doctest_layer")
    ('doctest_layer', 'doctest_layer_1')
    """
    n = _uses.get(prefix, 0)
    _uses[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names():
    """Forget the names given so far, so the next `unique_name(prefix)` is `prefix` again (`clear_session`)."""
    _uses.clear()


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
