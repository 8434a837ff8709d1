"""Test collection settings.

The fuzzing catalogue (``test_fuzz_*.py``, issue 9's audit of ~300 bad inputs) runs only with
``SOUNDSTAGE_FUZZ=1`` until the findings it still reports are fixed; it then joins the default
run (see the issue's closing note for what remains).
"""

from __future__ import annotations

import os

collect_ignore_glob = (
    [] if os.environ.get("SOUNDSTAGE_FUZZ", "").strip() in {"1", "true", "yes"} else ["test_fuzz_*.py"]
)
