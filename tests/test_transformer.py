"""Transformers end to end: a classifier that must attend to learn its task, a custom positional
embedding written with `ops` through training and a `.keras` round trip, and `nablanet demo
transformer` (nablanet.demos.transformer) in a tiny configuration."""

import pathlib
import subprocess
import sys

import numpy as np

import nablanet as keras
from nablanet import layers, ops
from nablanet.demos import transformer as demo
from nablanet.saving import register_keras_serializable

A, B, LENGTH, VOCABULARY = 1, 2, 8, 12


def order_task(n, seed):
    """Sequences of LENGTH filler tokens (3..11) holding one A and one B at random places; the
    label is whether A comes first. The tokens alone, in any order, say nothing about the label:
    a model must relate the two positions."""
    rng = np.random.default_rng(seed)
    x = rng.integers(3, VOCABULARY, (n, LENGTH)).astype(np.int32)
    places = np.argsort(rng.random((n, LENGTH)), axis=1)[:, :2]
    rows = np.arange(n)
    x[rows, places[:, 0]], x[rows, places[:, 1]] = A, B
    return x, (places[:, 0] < places[:, 1]).astype(np.float32)


@register_keras_serializable(package="test_transformer")
class PositionalEmbedding(layers.Layer):
    """A learned vector per token plus a learned vector per position, written with `ops` the way
    a Keras user writes one."""

    def __init__(self, vocabulary_size, sequence_length, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size, self.sequence_length, self.output_dim = vocabulary_size, sequence_length, output_dim

    def build(self, input_shape):
        self.tokens = self.add_weight(shape=(self.vocabulary_size, self.output_dim), initializer="random_normal",
                                      name="tokens")
        self.positions = self.add_weight(shape=(self.sequence_length, self.output_dim),
                                         initializer="random_normal", name="positions")

    def call(self, inputs):
        return ops.take(self.tokens, ops.cast(inputs, "int32"), axis=0) + ops.expand_dims(self.positions, 0)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "vocabulary_size": self.vocabulary_size,
                "sequence_length": self.sequence_length, "output_dim": self.output_dim}


def encoder_classifier(dim=32, heads=2):
    """PositionalEmbedding, one post-norm encoder block (self-attention and a feed-forward network,
    each with a residual connection and LayerNormalization), average pooling, a sigmoid."""
    ids = keras.Input((LENGTH,), dtype="int32")
    x = PositionalEmbedding(VOCABULARY, LENGTH, dim)(ids)
    x = layers.LayerNormalization()(x + layers.MultiHeadAttention(heads, dim // heads)(x, x))
    x = layers.LayerNormalization()(x + layers.Dense(dim)(layers.Dense(2 * dim, activation="relu")(x)))
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(x))
    model = keras.Model(ids, outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_a_transformer_learns_which_of_two_tokens_comes_first():
    keras.utils.set_random_seed(0)
    x, y = order_task(2000, seed=1)
    x_test, y_test = order_task(1000, seed=2)
    model = encoder_classifier()
    model.fit(x, y, batch_size=64, epochs=6, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95, accuracy


def test_a_custom_positional_embedding_trains_saves_and_loads(tmp_path):
    keras.utils.set_random_seed(0)
    x, y = order_task(1000, seed=3)
    model = encoder_classifier(dim=16)
    history = model.fit(x, y, batch_size=50, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] - 0.01, history.history["loss"]
    path = tmp_path / "order.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.layers[1], PositionalEmbedding) and loaded.layers[1].get_config()["output_dim"] == 16
    for ours, theirs in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(loaded.predict(x[:100], verbose=0), model.predict(x[:100], verbose=0))
    loaded.fit(x, y, batch_size=50, epochs=1, verbose=0)  # the loaded model trains on


SUBJECTS = {"alice": "apples", "bob": "bananas", "carol": "cherries", "dave": "dates"}
VERBS = ["likes", "wants", "buys"]


def story(sentences, seed=0):
    """'NAME VERB FOOD .' with the food fixed by the name two words back (see test_next_word.py)."""
    rng = np.random.default_rng(seed)
    names = list(SUBJECTS)
    words = []
    for _ in range(sentences):
        name = names[rng.integers(len(names))]
        words += [name, VERBS[rng.integers(len(VERBS))], SUBJECTS[name], "."]
    return " ".join(words)


def test_the_last_position_model_answers_as_the_full_model_does():
    keras.utils.set_random_seed(0)
    model = demo.build_model(30, context=5, embed_dim=8, num_heads=2, ff_dim=8, blocks=1)
    x = np.random.default_rng(0).integers(1, 30, (4, 5)).astype(np.int32)
    full, last = model.predict(x, verbose=0), demo.last_position(model).predict(x, verbose=0)
    assert full.shape == (4, 5, 30) and last.shape == (4, 30)
    np.testing.assert_allclose(last, full[:, -1], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(demo.shifted(x[:, :4], x[:, 4]), x[:, 1:])


def test_the_demo_compares_the_three_models_in_a_tiny_configuration(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text(story(400), encoding="utf-8")
    lines = []
    scores = demo.compare(text=path, seconds=600, epochs=16, context=4, max_tokens=30, prompt="alice likes",
                          embed_dim=16, blocks=1, units=16, out=lines.append)
    printed = "\n".join(lines)
    assert len(scores) == 3 and all(np.isfinite(s[0]) for s in scores.values()), scores
    transformer = scores["transformer (1 blocks)"]
    bigram = next(s for name, s in scores.items() if name.startswith("bigram"))
    assert np.exp(-transformer[0]) < 0.75 * np.exp(-bigram[0]), scores  # it sees the name two words back
    assert "Trained the transformer (1 blocks)" in printed and "Trained the LSTM(16)" in printed
    assert printed.count("perplexity") == 3 and "Generated by the transformer (1 blocks)" in printed


def test_the_cli_and_the_example_run_the_demo(tmp_path, capsys):
    from nablanet import cli

    path = tmp_path / "story.txt"
    path.write_text(story(200), encoding="utf-8")
    assert cli.main(["demo", "transformer", "--text", str(path), "--seconds", "0.5"]) == 0
    printed = capsys.readouterr().out
    assert f"Text: {path}" in printed and "after 0.5 s of training each" in printed
    example = pathlib.Path(__file__).parent.parent / "examples" / "transformer_next_word.py"
    done = subprocess.run([sys.executable, str(example), "--text", str(path), "--seconds", "0.5", "--context", "4",
                           "--blocks", "1", "--embed-dim", "16", "--prompt", "bob buys"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "perplexity" in done.stdout and "'bob buys' ->" in done.stdout


def test_build_model_wires_causal_attention():
    """Changing a later token leaves the predictions at earlier positions as they were."""
    keras.utils.set_random_seed(0)
    model = demo.build_model(20, context=6, embed_dim=8, num_heads=2, ff_dim=8, blocks=2)
    x = np.random.default_rng(1).integers(1, 20, (2, 6)).astype(np.int32)
    changed = x.copy()
    changed[:, 4] = (changed[:, 4] % 19) + 1
    before, after = model.predict(x, verbose=0), model.predict(changed, verbose=0)
    np.testing.assert_allclose(after[:, :4], before[:, :4], rtol=1e-5, atol=1e-7)
    assert not np.allclose(after[:, 4:], before[:, 4:])



def test_left_padding_is_invisible_to_the_real_tokens():
    """The generator pads short prompts with id 0 on the left: the embedding's mask keeps the
    attention off those positions, so changing what sits there changes nothing after them."""
    keras.utils.set_random_seed(0)
    model = demo.build_model(20, context=6, embed_dim=8, num_heads=2, ff_dim=8, blocks=2)
    window = np.array([[0, 0, 5, 7, 3, 9]], dtype=np.int32)
    before = model.predict(window, verbose=0)
    embedding = model.layers[1]
    table = embedding.positions.get_weights()[0]
    table[:2] += np.random.default_rng(2).standard_normal(table[:2].shape)  # not a constant, which LayerNorm removes
    embedding.positions.set_weights([table])
    after = model.predict(window, verbose=0)
    np.testing.assert_allclose(after[:, 2:], before[:, 2:], rtol=1e-5, atol=1e-7)
    assert not np.allclose(after[:, :2], before[:, :2])
