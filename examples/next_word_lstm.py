"""Next-word prediction with an LSTM: Embedding(64) -> LSTM(128) -> Dense(128, relu) -> Dense(softmax)
trained with Adam on Shakespeare (../shared/data/shakespeare when present; any text with --text),
against a smoothed bigram baseline on the same validation split: perplexity, top-1 and top-5
accuracy for both, then a continuation of a prompt sampled at temperature 0.8.

    python examples/next_word_lstm.py [--text FILE] [--seconds 120] [--cell GRU] [--prompt "..."]
"""

import argparse

from nablanet.demos import lstm

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--text", help="a text file, or a folder of .txt files")
    parser.add_argument("--seconds", type=float, default=120.0, help="training time budget")
    parser.add_argument("--cell", choices=["LSTM", "GRU"], default="LSTM")
    parser.add_argument("--prompt", default="to be or not to be")
    parser.add_argument("--context", type=int, default=10, help="words of context per prediction")
    args = parser.parse_args()
    lstm.next_word(text=args.text, seconds=args.seconds, cell=args.cell, prompt=args.prompt, context=args.context)
