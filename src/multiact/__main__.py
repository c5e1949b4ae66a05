import sys

from ._check.cli import main

if __name__ == "__main__":  # not when a process pool's worker imports the main module
    sys.exit(main())
