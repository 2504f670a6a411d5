"""`python -m mtlzoo ...` runs the `mtlzoo` command line."""

import sys

from mtlzoo.cli import main

if __name__ == "__main__":
    sys.exit(main())
