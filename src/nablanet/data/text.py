"""The text pipeline: `TextVectorization` turns strings into token ids (or bag-of-words
vectors; the layer lives in `nablanet.layers`, Keras's home for it), and the sequence helpers it
feeds are gathered here too: `pad_sequences`, `next_token_pairs` and
`timeseries_dataset_from_array` (from `nablanet.data.sequence`).
"""

from nablanet.data.sequence import next_token_pairs, pad_sequences, timeseries_dataset_from_array
from nablanet.layers.preprocessing_structured_text import TextVectorization

__all__ = ["TextVectorization", "next_token_pairs", "pad_sequences", "timeseries_dataset_from_array"]
