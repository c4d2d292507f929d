"""Next-word prediction (nablanet.demos.lstm): the bigram baseline's arithmetic, and an LSTM that
beats it on a text whose next word depends on more than the previous one."""

import numpy as np
import pytest

import nablanet as nn
from nablanet.demos import lstm as demo

SUBJECTS = {"alice": "apples", "bob": "bananas", "carol": "cherries", "dave": "dates", "erin": "eggs"}
VERBS = ["likes", "wants", "buys"]


def story(sentences=900, seed=0):
    """Sentences 'NAME VERB FOOD .' where the food is fixed by the name two words back: a bigram
    model sees only the verb and must spread its bet over the five foods; an LSTM can remember."""
    rng = np.random.default_rng(seed)
    names = list(SUBJECTS)
    words = []
    for _ in range(sentences):
        name = names[rng.integers(len(names))]
        words += [name, VERBS[rng.integers(len(VERBS))], SUBJECTS[name], "."]
    return " ".join(words)


def test_bigram_probabilities_are_the_interpolated_counts():
    ids = np.array([2, 3, 2, 3, 2, 4, 5])
    bigram = demo.Bigram(6, lam=0.5).fit(ids)
    unigram = (np.bincount(ids, minlength=6) + 1) / (len(ids) + 6)
    row = bigram.row(2)  # after 2: 3 twice, 4 once
    expected = 0.5 * unigram + 0.5 * np.array([0, 0, 0, 2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(row, expected)
    np.testing.assert_allclose(row.sum(), 1.0)
    np.testing.assert_allclose(bigram.row(5), unigram)  # never followed by anything: the unigram
    log_likelihood, top1, top5 = bigram.scores(np.array([[0, 2], [0, 2], [0, 4]]), np.array([3, 4, 5]))
    np.testing.assert_allclose(log_likelihood, np.mean(np.log([row[3], row[4], bigram.row(4)[5]])))
    assert top1 == pytest.approx(2 / 3)  # after 2 the best guess is 3 (right once), after 4 it is 5
    assert top5 == 1.0


def test_lstm_beats_the_smoothed_bigram_on_validation_perplexity(capsys):
    nn.utils.set_random_seed(0)
    vectorizer, (x, y), (x_val, y_val), train_ids = demo.prepare(story(), max_tokens=50, context=4)
    size = vectorizer.vocabulary_size()
    bigram = demo.Bigram(size).fit(train_ids)
    bigram.choose_lambda(x_val, y_val)
    model = demo.build_model(size, context=4, embedding=16, units=32, learning_rate=1e-2)
    model.fit(x, y, batch_size=64, epochs=6, verbose=0)
    ours, baseline = demo.model_scores(model, x_val, y_val), bigram.scores(x_val, y_val)
    assert np.exp(-ours[0]) < 0.75 * np.exp(-baseline[0]), (ours, baseline)
    assert ours[1] > baseline[1]
    text = demo.generate(model, vectorizer, "alice likes", words=6, temperature=0.5)
    assert text.split()[0] == "apples"
    assert all(word in vectorizer.get_vocabulary() for word in text.split())


def test_corpus_reads_a_file_or_falls_back_to_text_every_python_has(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("one two three", encoding="utf-8")
    assert demo.corpus(path) == ("one two three", str(path))
    with pytest.raises(FileNotFoundError, match="no such file"):
        demo.corpus(tmp_path / "missing.txt")
    from pydoc_data.topics import topics

    assert len(topics) > 10  # the fallback corpus exists on every installation


def test_prepare_refuses_a_text_too_short_for_its_contexts():
    with pytest.raises(ValueError, match="too few for 20-word contexts"):
        demo.prepare("a b c d e f", context=20)


def test_generate_refuses_a_non_positive_temperature():
    vectorizer, _, _, _ = demo.prepare(story(50), max_tokens=20, context=3)
    model = demo.build_model(vectorizer.vocabulary_size(), context=3, embedding=4, units=4)
    with pytest.raises(ValueError, match="temperature must be positive"):
        demo.generate(model, vectorizer, "alice", temperature=0)


def test_the_example_runs_on_a_given_text(tmp_path):
    import pathlib
    import subprocess
    import sys

    path = tmp_path / "story.txt"
    path.write_text(story(400), encoding="utf-8")
    example = pathlib.Path(__file__).parent.parent / "examples" / "next_word_lstm.py"
    done = subprocess.run([sys.executable, str(example), "--text", str(path), "--seconds", "3", "--context", "4",
                           "--prompt", "bob buys"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "perplexity" in done.stdout and "bigram" in done.stdout and "'bob buys' ->" in done.stdout


def test_cli_passes_text_and_seconds_to_the_demo(tmp_path, capsys):
    from nablanet import cli

    path = tmp_path / "story.txt"
    path.write_text(story(300), encoding="utf-8")
    assert cli.main(["demo", "lstm", "--text", str(path), "--seconds", "1"]) == 0
    printed = capsys.readouterr().out
    assert f"Text: {path}" in printed and "Generated (temperature 0.8)" in printed
