"""Where Soundstage keeps what it makes once and reuses: ``$SOUNDSTAGE_CACHE``, or ``~/.cache/soundstage``.

Each kind of thing has its folder there: ``hrtf`` (downloaded head sets), ``heads`` (measured heads
processed for a sample rate), ``rooms`` (mesh rooms repaired and merged into planes), ``generated``
(text-to-audio sounds), ``serve`` (the web page's files).

What is made is kept as NumPy files written atomically (:func:`load_or_make`), named by what it was made from
and by a hash of the code that made it (:func:`code_version`): an edited input or an upgrade is a new name.
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

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


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's content: what names a kept thing made from it (and checks a download)."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def code_version(modules: tuple[str, ...], layout: int = 1) -> str:
    """A short hash of the source of ``modules`` (the code that makes a kept thing) and of its ``layout`` number."""
    import hashlib
    from importlib.util import find_spec

    digest = hashlib.sha256(str(layout).encode())
    for name in modules:
        spec = find_spec(name)
        if spec is not None and spec.origin and Path(spec.origin).is_file():
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:12]


def kept_path(kind: str, source: Path, key: str, makers: Sequence[str], layout: int = 1) -> Path:
    """Where the thing made from file ``source`` (with the options ``key`` names) is kept: named by the file's
    content, ``key`` and the version of the code in ``makers`` that makes it.

    Raises
    ------
    InputFileError
        When ``source`` cannot be read.
    """
    from soundstage.errors import InputFileError

    try:
        content = sha256_of(source)
    except OSError as error:
        reason = error.strerror or error
        raise InputFileError(f"{source}: cannot be read ({reason}); check the file and its permissions") from None
    return cache_dir(kind) / f"{content[:32]}-{key}-{code_version(tuple(makers), layout)}.npz"


def load_or_make(target: Path, load: Callable, make: Callable):
    """``load()`` when ``target`` is there and reads; else ``make()`` → (result, what to keep), kept at ``target``."""
    try:
        if target.is_file():
            return load()
    except Exception:  # any entry that cannot be read (truncated, damaged, foreign, a bad name) is made again
        pass
    result, content = make()
    keep(target, content)
    return result


def keep(target: Path, content: dict[str, np.ndarray] | np.ndarray) -> None:
    """Write arrays (``.npz``) or one array (``.npy``) to ``target`` atomically; an unwritable cache is no error."""
    import numpy as np

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=target.parent, prefix=".", suffix=f"{target.suffix}.part")
        try:
            with os.fdopen(handle, "wb") as out:
                if isinstance(content, dict):
                    np.savez(out, **content)
                else:
                    np.save(out, content)
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
    except OSError:
        return
