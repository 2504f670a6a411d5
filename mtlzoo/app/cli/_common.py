"""What every subcommand shares: the error type, the parser, JSON helpers.

Imports nothing heavy: `mtlzoo --help`, `list` and `info` must answer
without TensorFlow.
"""

import argparse
import json
import os

PROG = "mtlzoo"


class CommandError(ValueError):
    """A failed command; its message is printed as one line."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def one_line(text):
    """`text` with every run of whitespace (newlines too) as one space."""
    return " ".join(str(text).split())


def print_json(value, sort_keys=False):
    """Print `value` as indented JSON."""
    print(json.dumps(value, indent=2, sort_keys=sort_keys))


def read_json(path, what):
    """The JSON object in file `path`; `what` names it in errors.

    Raises:
        CommandError: the file is missing, not JSON or not an object.
    """
    if not os.path.isfile(path):
        raise CommandError(f"No such {what} file. Received: {what}={path!r}")
    with open(path, encoding="utf-8") as f:
        try:
            value = json.load(f)
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{path} is not valid JSON ({error}). Received: {what}={path!r}"
            ) from None
    if not isinstance(value, dict):
        raise CommandError(
            f"A {what} must be a JSON object. Received: {what}={path!r}"
        )
    return value
