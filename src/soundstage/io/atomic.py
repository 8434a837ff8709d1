"""Atomic file output: a file is either written completely or not at all.

Writers write to a temporary file in the target's own folder and rename it into place
only once everything succeeded. A rename within one folder (one file system) is atomic,
so a crash or an exception never leaves a half-written WAV or a stray temporary file,
and an existing file is only replaced when the caller asked for it.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from soundstage.errors import OutputError, SoundstageError
from soundstage.io.inputs import InputFile, input_overwritten_by

#: Suffix of the temporary files atomic writers make beside their target (``.NAME.XXXXXXXX.tmp``).
TEMPORARY_SUFFIX = ".tmp"
_TEMPORARY = re.compile(r"\.(.+)\.[A-Za-z0-9_]{8}" + re.escape(TEMPORARY_SUFFIX))

def check_writable(path: str | Path, *, overwrite: bool, inputs: Iterable[InputFile] = ()) -> Path:
    """Check, without writing anything, that ``path`` could be written.

    Parameters
    ----------
    path : str or Path
        The file to be written. Its folder must exist; it is not created.
    overwrite : bool
        Whether an existing file (or a symlink, even a dangling or looping one) may be replaced.
    inputs : iterable of InputFile, optional
        Files the job reads, besides those recorded by :mod:`soundstage.io.inputs`: ``path``
        may never be one of them, whatever ``overwrite`` says.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        If the file is one of the job's inputs, exists (without ``overwrite``), is a folder,
        or its folder is missing, is not a folder, or cannot be written to.
    """
    path = Path(path)
    folder = path.parent
    source = input_overwritten_by(path, inputs)
    if source is not None:
        raise OutputError(
            f"{path} is one of this job's inputs ({source.path}); writing there would destroy it, "
            "even with --overwrite; choose another output name"
        )
    if path.is_dir():
        raise OutputError(f"{path} is a folder; give a file name for the output")
    if os.path.lexists(path) and not overwrite:
        # A symlink counts even when it dangles or loops: replacing it loses where it pointed.
        what = f" (a symlink to {os.readlink(path)})" if path.is_symlink() else ""
        raise OutputError(f"{path} exists{what}; pass --overwrite (overwrite=True) to replace it")
    # Walk up to the first ancestor that exists: a regular file there means the folder
    # can never exist, which deserves a different message from "create the folder".
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputError(f"{path}: {ancestor} is a file, not a folder; choose another path")
    if not folder.is_dir():
        raise OutputError(f"{path}: folder {folder} does not exist; create it first or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: folder {folder} is not writable; fix its permissions or choose another path")
    return path


@contextlib.contextmanager
def atomic_write(path: str | Path, *, overwrite: bool, inputs: Iterable[InputFile] = ()) -> Iterator[Path]:
    """Context manager giving a temporary path that becomes ``path`` on success.

    Write the output to the yielded path (open it, or hand it to a library that takes a
    file name). When the ``with`` block ends normally the temporary file is renamed onto
    ``path`` with :func:`os.replace`; if the block raises, the temporary file is removed,
    ``path`` is left as it was and the exception propagates (an :class:`OSError` from the
    block becomes an :class:`~soundstage.errors.OutputError` naming ``path``).

    Parameters
    ----------
    path : str or Path
        The file to write. Its folder must already exist (see :func:`ensure_dir` for
        output folders a tool creates itself).
    overwrite : bool
        Replace ``path`` if it exists; otherwise an existing file raises before anything
        is written.
    inputs : iterable of InputFile, optional
        Files the job read (see :func:`check_writable`); ``path`` may never be one of them.

    Yields
    ------
    Path
        A fresh, empty temporary file in the same folder as ``path``.

    Raises
    ------
    OutputError
        If the file is one of the job's inputs, exists (without ``overwrite``), or the
        folder is missing, not a folder, or not writable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_write(folder / "hello.txt", overwrite=False) as temporary:
    ...     _ = temporary.write_text("hello")
    >>> sorted(p.name for p in folder.iterdir())
    ['hello.txt']
    """
    inputs = tuple(inputs)
    path = check_writable(path, overwrite=overwrite, inputs=inputs)
    try:
        # mkstemp in the target's folder so that the final rename never crosses file systems.
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    except OSError as error:
        raise OutputError(
            f"{path}: cannot write in folder {path.parent} ({error.strerror or error}); "
            "fix its permissions or choose another path"
        ) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        # Checked again: someone else may have created the file while we were writing (keep theirs).
        check_writable(path, overwrite=overwrite, inputs=inputs)
        # mkstemp makes the file private (0o600); give it the mode an ordinary new file gets.
        os.chmod(temporary, 0o666 & ~current_umask())
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        if isinstance(error, OSError) and not isinstance(error, SoundstageError):
            raise OutputError(f"{path}: cannot be written ({error.strerror or error}); choose another path") from error
        raise


def ensure_dir(path: str | Path) -> Path:
    """Create the output folder ``path`` (and its parents) if it does not exist.

    Parameters
    ----------
    path : str or Path
        The folder.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    OutputError
        If ``path`` (or one of its parents) is a file, or the folder cannot be created.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ensure_dir(pathlib.Path(tempfile.mkdtemp()) / "renders" / "demo").is_dir()
    True
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file; give a folder for the output")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"{path}: a parent of this folder is a file; choose another folder") from None
    except OSError as error:
        raise OutputError(
            f"{path}: folder cannot be created ({error.strerror or error}); choose another folder"
        ) from None
    return path


def current_umask() -> int:
    """The process's file-creation mask (reading it requires setting it, so set it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def hold_lock(path: str | Path, busy: str):
    """Take the exclusive lock of the file ``path`` (created if missing) and return its open handle.

    The lock lasts until the handle is closed or the process ends, however it ends: one writer at a time
    for a folder that two processes could otherwise both write (a server's data, a batch's outputs).

    Raises
    ------
    ParameterError
        With the message ``busy`` when another process holds the lock.
    """
    import fcntl

    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        from soundstage.errors import ParameterError

        raise ParameterError(busy) from None
    return handle


def temporary_of(name: str) -> str | None:
    """The file an atomic writer's temporary ``name`` was to become (``.NAME.XXXXXXXX.tmp`` → NAME), or None.

    >>> temporary_of(".out.wav.k2j_s9x1.tmp"), temporary_of("out.wav")
    ('out.wav', None)
    """
    match = _TEMPORARY.fullmatch(name)
    return match.group(1) if match else None
