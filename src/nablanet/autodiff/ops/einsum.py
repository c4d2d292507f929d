"""Einstein summation as one primitive whose derivative rule is again an einsum.

The public `einsum` spells every subscript out (ellipses become letters, the output is explicit),
so the rule can read each operand's letters. The cotangent of operand k contracts the upstream
gradient with the other operands onto operand k's letters; a letter only operand k has is summed
in its forward, so a ones array brings it back, and a letter operand k repeats (`ii`, a diagonal)
is rebuilt with an identity matrix. Everything is an einsum, so the rule differentiates to any order.
"""

import string

import numpy as np

from nablanet.autodiff.primitive import primitive
from nablanet.autodiff.tensor import as_array


_PLANNED = 4096  # elements: above this, planning the contraction (BLAS, a path) repays its cost


def _forward(*operands, subscripts):
    planned = len(operands) > 2 or sum(np.size(x) for x in operands) > _PLANNED
    return np.einsum(subscripts, *operands, optimize=planned)


def _operand_cotangent(g, operands, k, subscripts):
    lhs, out_term = subscripts.split("->")
    terms = lhs.split(",")
    term = terms[k]
    shape = np.shape(as_array(operands[k]))
    dtype = np.result_type(as_array(g))
    specs = [out_term] + [t for j, t in enumerate(terms) if j != k]
    args = [g] + [x for j, x in enumerate(operands) if j != k]
    seen = set("".join(specs))
    fresh = iter(c for c in string.ascii_letters if c not in subscripts)
    target, first = [], {}
    for letter, n in zip(term, shape):
        if letter in first:  # a repeated letter: the identity ties the copy to its first place
            copy = next(fresh)
            specs.append(letter + copy)
            args.append(np.eye(n, dtype=dtype))
            target.append(copy)
            continue
        first[letter] = n
        target.append(letter)
    alone = "".join(c for c in first if c not in seen)
    if alone:
        specs.append(alone)
        args.append(np.ones(tuple(first[c] for c in alone), dtype=dtype))
    return _einsum(*args, subscripts=",".join(specs) + "->" + "".join(target))


def _einsum_vjp(g, out, *operands, subscripts):
    return tuple(
        (lambda k=k: _operand_cotangent(g, operands, k, subscripts)) for k in range(len(operands))
    )


_einsum = primitive("einsum", _forward, _einsum_vjp)


def explicit_subscripts(subscripts, shapes):
    """`subscripts` with ellipses replaced by letters and the output written out.

    >>> explicit_subscripts("...i,i", [(2, 3), (3,)])
    'ai,i->a'
    """
    text = subscripts.replace(" ", "")
    lhs, arrow, out = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(terms)} operands, got {len(shapes)}")
    for t in terms + [out]:
        bad = set(t.replace("...", "")) - set(string.ascii_letters)
        if bad or t.count("...") > 1:
            raise ValueError(f"einsum: subscripts {subscripts!r} must be letters and at most one '...' per term")
    fresh = iter(c for c in string.ascii_letters if c not in text)
    widths = [len(s) - (len(t) - 3) for t, s in zip(terms, shapes) if "..." in t]
    if any(w < 0 for w in widths):
        raise ValueError(f"einsum: subscripts {subscripts!r} name more axes than the operands {shapes} have")
    ellipsis = "".join(next(fresh) for _ in range(max(widths, default=0)))
    spelled = []
    for t, s in zip(terms, shapes):
        if "..." in t:
            t = t.replace("...", ellipsis[len(ellipsis) - (len(s) - (len(t) - 3)):])
        if len(t) != len(s):
            raise ValueError(f"einsum: term {t!r} of {subscripts!r} names {len(t)} axes, the operand has shape {s}")
        spelled.append(t)
    if arrow:
        out = out.replace("...", ellipsis)
    else:
        joined = "".join(spelled)
        out = ellipsis + "".join(sorted(c for c in set(joined) if joined.count(c) == 1 and c not in ellipsis))
    return ",".join(spelled) + "->" + out


def einsum(subscripts, *operands):
    """Sum products of the operands' elements over the letters `subscripts` contracts.

    >>> einsum("ij,j->i", np.eye(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    spelled = explicit_subscripts(subscripts, [np.shape(as_array(x)) for x in operands])
    return _einsum(*operands, subscripts=spelled)
