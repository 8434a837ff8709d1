"""Where Soundstage keeps what it makes once and reuses: ``$SOUNDSTAGE_CACHE``, or ``~/.cache/soundstage``.

Each kind of thing has its folder there: ``hrtf`` (downloaded head sets), ``heads`` (measured heads
processed for a sample rate), ``generated`` (text-to-audio sounds), ``serve`` (the web page's files).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the cache's root folder.
CACHE_VARIABLE = "SOUNDSTAGE_CACHE"


def cache_dir(kind: str) -> Path:
    """The folder of one kind of cached thing (not created here).

    >>> import os; os.environ["SOUNDSTAGE_CACHE"] = "/tmp/ss"; str(cache_dir("heads"))
    '/tmp/ss/heads'
    >>> del os.environ["SOUNDSTAGE_CACHE"]
    """
    root = os.environ.get(CACHE_VARIABLE)
    return (Path(root).expanduser() if root else Path.home() / ".cache" / "soundstage") / kind
