"""Next-word prediction with a small decoder-only transformer, against the LSTM demo's model and
its smoothed bigram baseline, each model trained for the same wall-clock time on the same split.

The transformer: token and position embeddings (`TokenAndPositionEmbedding`, a custom layer
written with `ops`), `blocks` pre-norm blocks of causal `MultiHeadAttention` and a feed-forward
network, each with a residual connection, a final `LayerNormalization` and a softmax over the
vocabulary at every position. It learns from every position of each window (the next word after
each prefix); it is scored, like the LSTM, on the word after each full validation window.

The text, its split and vocabulary, the bigram, the scores and the sampler are the LSTM demo's
(`nablanet.demos.lstm`). `run` is `nablanet demo transformer`; `compare` is what the example and
the tests call.
"""

import time

import numpy as np

import nablanet as keras
from nablanet import layers, ops
from nablanet.callbacks import LambdaCallback
from nablanet.demos import lstm


class TokenAndPositionEmbedding(layers.Layer):
    """The sum of a learned embedding of each token and one of its position in the window;
    id 0 is padding and masked out.

    Example:
        >>> TokenAndPositionEmbedding(50, 8, 4)(np.array([[3, 4, 5, 6, 7, 8, 9, 1]])).shape
        (1, 8, 4)
    """

    accepts_integer_inputs = True

    def __init__(self, vocabulary_size, sequence_length, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length, self.embed_dim = vocabulary_size, sequence_length, embed_dim
        self.tokens = layers.Embedding(vocabulary_size, embed_dim, mask_zero=True)
        self.positions = layers.Embedding(sequence_length, embed_dim)

    def call(self, inputs):
        return self.tokens(inputs) + self.positions(ops.arange(ops.shape(inputs)[-1]))

    def compute_mask(self, inputs, previous_mask=None):
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.embed_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "embed_dim": self.embed_dim}


def build_model(vocabulary_size, context=10, embed_dim=64, num_heads=4, ff_dim=128, blocks=2, learning_rate=2e-3):
    """The decoder-only transformer: (batch, context) ids -> (batch, context, vocabulary) next-word
    probabilities, compiled with Adam and sparse categorical cross-entropy."""
    ids = keras.Input((context,), dtype="int32")
    x = TokenAndPositionEmbedding(vocabulary_size, context, embed_dim)(ids)
    for _ in range(blocks):
        # Add layers, not `+`: as in Keras, only the layer carries the padding mask on to the next block.
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        x = layers.Add()([x, layers.MultiHeadAttention(num_heads, embed_dim // num_heads)(h, h, use_causal_mask=True)])
        h = layers.LayerNormalization(epsilon=1e-5)(x)
        x = layers.Add()([x, layers.Dense(embed_dim)(layers.Dense(ff_dim, activation="gelu")(h))])
    x = layers.LayerNormalization(epsilon=1e-5)(x)
    probabilities = layers.Dense(vocabulary_size, activation="softmax")(x)
    model = keras.Model(ids, probabilities, name="next_word_transformer")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def last_position(model):
    """The trained model answering only for the word after the whole window: (batch, vocabulary).
    A copy of the output layer runs on the last position alone, which saves the other positions' work."""
    head = model.layers[-1]
    last = keras.layers.Dense(head.units, activation="softmax")
    outputs = last(head.input[:, -1, :])
    last.set_weights(head.get_weights())
    return keras.Model(model.input, outputs, name=f"{model.name}_last")


def shifted(x, y):
    """Targets at every position of each window: the window shifted left by one, then `y`."""
    return np.concatenate([np.asarray(x)[:, 1:], np.asarray(y)[:, None]], axis=1).astype(np.asarray(x).dtype)


def train(model, x, y, seconds, epochs, batch_size=64):
    """Fit for `seconds` of wall-clock time (or `epochs`, when they end sooner), with no validation
    inside the budget. Returns (batches run, seconds spent)."""
    batches = []
    count = LambdaCallback(on_train_batch_end=lambda batch, logs=None: batches.append(batch))
    began = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[lstm.TimeLimit(seconds), count])
    return len(batches), time.perf_counter() - began


def compare(text=None, seconds=60.0, epochs=20, context=10, max_tokens=5000, prompt="to be or not to be",
            embed_dim=64, blocks=2, units=128, out=print):
    """Train the transformer and the LSTM demo's model for `seconds` each on the same split and
    score both and the bigram baseline on next-word prediction after each validation window.
    Returns {name: (mean log-likelihood, top-1, top-5)} and prints perplexities and samples."""
    keras.utils.set_random_seed(0)
    body, source = lstm.corpus(text)
    vectorizer, (x, y), (x_val, y_val), train_ids = lstm.prepare(body, max_tokens, context)
    size = vectorizer.vocabulary_size()
    out(f"Text: {source}: {len(body.split()):,} words, vocabulary {size:,} (the rest -> [UNK]); "
        f"{len(y):,} training and {len(y_val):,} validation windows of {context} words")
    bigram = lstm.Bigram(size).fit(train_ids)
    lam = bigram.choose_lambda(x_val, y_val)
    scores, samples = {f"bigram (lambda {lam})": bigram.scores(x_val, y_val)}, {}

    # Windows that do not overlap: every training word is a target once per epoch, as for the LSTM.
    x_seq, y_seq = x[::context], shifted(x, y)[::context]
    transformer = build_model(size, context, embed_dim, blocks=blocks)
    name = f"transformer ({blocks} blocks)"
    _fit_and_report(name, transformer, (x_seq, y_seq), context, seconds, epochs, out)
    scores[name], samples[name] = _score(last_position(transformer), vectorizer, x_val, y_val, prompt)

    recurrent = lstm.build_model(size, context, units=units)
    name = f"LSTM({units})"
    _fit_and_report(name, recurrent, (x, y), 1, seconds, epochs, out)
    scores[name], samples[name] = _score(recurrent, vectorizer, x_val, y_val, prompt)

    out(f"Validation next-word prediction after {seconds:g} s of training each:")
    for name, result in sorted(scores.items(), key=lambda item: -item[1][0]):
        lstm.report(name, result, out)
    out("  (the bigram's lambda was chosen on this validation split, which favours the baseline)")
    for name, generated in samples.items():
        out(f"Generated by the {name} (temperature 0.8): {prompt!r} -> {generated}")
    return scores


def _fit_and_report(name, model, x_y, targets_per_window, seconds, epochs, out):
    batches, spent = train(model, *x_y, seconds, epochs)
    per_epoch = -(-len(x_y[1]) // 64)
    words = batches * 64 * targets_per_window
    out(f"Trained the {name} ({model.count_params():,} weights) for {spent:.1f} s: {batches:,} batches "
        f"({batches / per_epoch:.2f} epochs), about {words / spent:,.0f} target words/s")


def _score(model, vectorizer, x_val, y_val, prompt):
    return lstm.model_scores(model, x_val, y_val), lstm.generate(model, vectorizer, prompt)


def run(text=None, seconds=None):
    print("\n== Next-word prediction: a transformer vs an LSTM vs a bigram, at the same training time ==")
    compare(text=text, seconds=60.0 if seconds is None else float(seconds))
