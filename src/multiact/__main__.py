import sys

from ._check.cli import main

sys.exit(main())
