"""``python -m soundstage`` runs the command line."""

import sys

from soundstage.cli.main import main

sys.exit(main())
