"""What the mobile and efficient families (MobileNet V1-V3, EfficientNet V1-V2) share on top of
`base`: Keras's width rounding.
"""


def make_divisible(value, divisor=8, min_value=None):
    """The multiple of `divisor` nearest to `value` (at least `min_value`, by default `divisor`),
    raised by one step when rounding would lose more than a tenth: the width rule of the
    MobileNets and EfficientNets.

    >>> make_divisible(32 * 0.35), make_divisible(20), make_divisible(1280 * 1.3)
    (16, 24, 1664)
    """
    rounded = max(min_value or divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded
