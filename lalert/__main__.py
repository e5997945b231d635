import sys

from lalert.cli import main

sys.exit(main())
