"""A progress bar in Keras's format, with no dependency.

In a terminal it redraws one line in place; written to a pipe or a file it prints plain lines
only when a bar is finished, with no carriage returns and no colour codes.
"""

import logging
import os
import sys
import time

from nablanet import backend


def _dynamic(stream):
    return (hasattr(stream, "isatty") and stream.isatty()) or "ipykernel" in sys.modules


def print_msg(message, line_break=True):
    """Write a progress message: to stdout, or to the `nablanet` logger at INFO level when
    `nablanet.config.disable_interactive_logging()` is in force (as Keras's `print_msg` does)."""
    if backend.is_interactive_logging_enabled():
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logging.getLogger("nablanet").info(message)


def format_time_per_unit(seconds, unit_name="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit_name}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit_name}"
    return f"{seconds * 1e6:.0f}us/{unit_name}"


def _number(value):
    """One number for a log value; one per class or threshold shows as their mean, as in Keras."""
    return float(value.mean()) if getattr(value, "ndim", 0) else float(value)


def format_value(value):
    value = _number(value)
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


class Progbar:
    """Displays `current/target`, a bar, the time and `name: value` pairs.

    Args:
        target: The number of steps (None if unknown).
        width: The bar's width in characters.
        verbose: 1 for the bar, 2 for one line when done, 0 for nothing.
        interval: The least number of seconds between redraws.
        stateful_metrics: Names whose values are shown as given; every other name is averaged
            over the steps (weighted by the steps each update covers).
        stateless_metrics: Names to average; every other name is shown as given. Give at most
            one of the two; with neither, every name is averaged, as in Keras.
        unit_name: What a step is called ("step", "sample").
        stream: Where to write (stdout by default).
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, stateless_metrics=None,
                 unit_name="step", stream=None):
        if stateful_metrics is not None and stateless_metrics is not None:
            raise ValueError("Progbar: give stateful_metrics or stateless_metrics, not both")
        self.stateful_metrics = None if stateful_metrics is None and stateless_metrics is not None else set(
            stateful_metrics or ())
        self.stateless_metrics = None if stateless_metrics is None else set(stateless_metrics)
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self.interactive = backend.is_interactive_logging_enabled()
        self.dynamic = self.interactive and _dynamic(self.stream) and os.environ.get("TERM") != "dumb"
        encoding = getattr(self.stream, "encoding", None) or "ascii"
        self.fill = "━" if "utf" in encoding.lower() else "="
        self.start = time.time()
        self.last_update = 0.0
        self.previous_width = 0
        self.values = {}
        self._sums = {}  # name -> [weighted sum, steps] of an averaged metric
        self._seen = 0

    def _averaged(self, name):
        if self.stateful_metrics is not None:
            return name not in self.stateful_metrics
        return name in self.stateless_metrics

    def update(self, current, values=None, finalize=None):
        """Show step `current` with the given `(name, value)` pairs."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        steps = max(current - self._seen, 1)
        for name, value in values or []:
            if finalize or not self._averaged(name):  # Keras shows the final update's values as given
                self.values[name] = value
                continue
            total = self._sums.setdefault(name, [0.0, 0])
            total[0] += _number(value) * steps
            total[1] += steps
            self.values[name] = total[0] / total[1]
        self._seen = current
        now = time.time()
        if self.verbose == 1 and (self.dynamic or finalize):
            if not finalize and now - self.last_update < self.interval:
                return
            self._write_bar(current, now, finalize)
        elif self.verbose == 2 and finalize:
            count = f"{current}/{self.target}" if self.target else f"{current}"
            per_unit = (now - self.start) / max(current, 1)
            line = f"{count} - {now - self.start:.0f}s - {format_time_per_unit(per_unit, self.unit_name)}"
            self._emit(line + self._metrics() + "\n")
        self.last_update = now

    def _metrics(self):
        return "".join(f" - {name}: {format_value(value)}" for name, value in self.values.items())

    def _write_bar(self, current, now, finalize):
        bold, green, grey, reset = ("\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m") if self.dynamic else ("",) * 4
        if self.target:
            digits = len(str(self.target))
            filled = int(self.width * min(current / self.target, 1.0))
            bar = (f"{bold}{current:>{digits}}/{self.target}{reset} {green}{self.fill * filled}{reset}"
                   f"{grey}{self.fill * (self.width - filled)}{reset}")
            plain = f"{current:>{digits}}/{self.target} " + self.fill * self.width
        else:
            bar = plain = f"{current:7d}/Unknown"
        per_unit = (now - self.start) / max(current, 1)
        if self.target and not finalize:
            eta = per_unit * (self.target - current)
            clock = f"{eta // 60:.0f}:{eta % 60:02.0f}" if eta > 60 else f"{eta:.0f}s"
        else:
            clock = f"{now - self.start:.0f}s"
        info = f" {bold}{clock}{reset} {format_time_per_unit(per_unit, self.unit_name)}{self._metrics()}"
        plain_width = len(plain) + len(info) - (len(bold) + len(reset) if self.dynamic else 0)
        line = bar + info
        if self.dynamic:
            padding = " " * max(self.previous_width - plain_width, 0)
            self._emit("\r" + line + padding + ("\n" if finalize else ""))
        else:
            self._emit(line + "\n")
        self.previous_width = plain_width

    def _emit(self, text):
        if not self.interactive:  # interactive logging disabled: the logger gets the finished lines
            logging.getLogger("nablanet").info(text.strip("\r\n"))
            return
        self.stream.write(text)
        self.stream.flush()
