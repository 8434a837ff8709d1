"""Output files a command will write, checked before the work rather than after it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def check_outputs(outputs: Iterable[tuple[Path | None, str]], *, overwrite: bool) -> None:
    """Refuse, before any work, output files with the wrong extension or that cannot be written.

    Parameters
    ----------
    outputs : iterable of (Path or None, str)
        Each requested file (None when the option was not given) and the suffix it must
        have, such as ``".wav"`` or ``".json"``.
    overwrite : bool
        Whether existing files may be replaced.

    Raises
    ------
    ParameterError
        For a file name without the suffix.
    OutputError
        For a file that exists (without ``overwrite``) or whose folder is missing or not writable.
    """
    from soundstage.errors import ParameterError
    from soundstage.io.atomic import check_writable

    for path, suffix in outputs:
        if path is None:
            continue
        if path.suffix.lower() != suffix:
            raise ParameterError(f"{path}: give a file name ending in {suffix}")
        check_writable(path, overwrite=overwrite)
