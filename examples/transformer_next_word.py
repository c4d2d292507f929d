"""Next-word prediction with a small decoder-only transformer: token and position embeddings (a
custom layer written with `ops`), causal MultiHeadAttention blocks with LayerNormalization and a
feed-forward network, a softmax over the vocabulary at every position; trained on Shakespeare
(../shared/data/shakespeare when present; any text with --text) for the same wall-clock time as the
LSTM of examples/next_word_lstm.py, both scored against a smoothed bigram baseline on the same
validation split (perplexity, top-1 and top-5 accuracy), then a prompt continued by each model.

    python examples/transformer_next_word.py [--text FILE] [--seconds 60] [--blocks 2] [--prompt "..."]
"""

import argparse

from nablanet.demos import transformer

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", help="a text file, or a folder of .txt files")
    parser.add_argument("--seconds", type=float, default=60.0, help="training time budget of each model")
    parser.add_argument("--blocks", type=int, default=2, help="transformer blocks")
    parser.add_argument("--embed-dim", type=int, default=64, help="width of the transformer")
    parser.add_argument("--context", type=int, default=10, help="words of context per prediction")
    parser.add_argument("--prompt", default="to be or not to be")
    args = parser.parse_args()
    transformer.compare(text=args.text, seconds=args.seconds, context=args.context, prompt=args.prompt,
                        embed_dim=args.embed_dim, blocks=args.blocks)
