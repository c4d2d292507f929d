"""`keras.ops.image`: resizing, affine and perspective transforms, patches, colour spaces, in
Keras's layouts (`data_format="channels_last"` by default)."""

__all__ = []
