import sys

from gftheory.cli import main

sys.exit(main())
