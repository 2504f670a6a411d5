"""`python -m mtlzoo ...` runs the `mtlzoo` command line."""

import sys

from mtlzoo.app.cli import main

if __name__ == "__main__":
    sys.exit(main())
