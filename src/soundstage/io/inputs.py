"""The files a job reads, so that no output is ever written over one of them.

Every reader of user files (audio, scene, SOFA, image, depth, mesh) calls
:func:`record_input`. A job — one CLI command, one :func:`~soundstage.acoustics.render.render`
call — runs inside :func:`recording_inputs`, which collects what was read; the atomic writer
(:func:`soundstage.io.atomic.check_writable`) refuses an output that is the same file as any
of them, even with ``overwrite``: replacing the sound a scene plays with its own render
destroys the user's recording. "The same file" is decided through symlinks, relative paths
and hard links.

Scopes nest: a file recorded inside a render is also recorded by the CLI command around it.
Outside any scope :func:`record_input` does nothing, so a long-running program does not
accumulate a list of every file it ever read.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_SCOPES: contextvars.ContextVar[tuple[set[InputFile], ...]] = contextvars.ContextVar("soundstage_inputs", default=())


@dataclass(frozen=True)
class InputFile:
    """A file read by a job: its resolved path and, when it exists, its device and inode."""

    path: Path
    identity: tuple[int, int] | None

    @classmethod
    def of(cls, path: str | Path) -> InputFile:
        """Identify ``path`` (following symlinks; a loop or a missing file keeps only the path)."""
        resolved = _resolve(path)
        try:
            status = os.stat(resolved)
            identity = (status.st_dev, status.st_ino)
        except (OSError, ValueError):
            identity = None
        return cls(resolved, identity)

    def is_same_file(self, path: str | Path) -> bool:
        """Whether ``path`` names this file: the same resolved path, or the same inode (a hard link)."""
        other = InputFile.of(path)
        if other.path == self.path:
            return True
        return self.identity is not None and other.identity == self.identity


def record_input(path: str | Path | None) -> None:
    """Note that the current job reads ``path`` (ignored outside :func:`recording_inputs`, or for None)."""
    scopes = _SCOPES.get()
    if not scopes or path is None:
        return
    entry = InputFile.of(path)
    for scope in scopes:
        scope.add(entry)


def record_inputs(paths: Iterable[str | Path | None]) -> None:
    """:func:`record_input` for each of ``paths``."""
    for path in paths:
        record_input(path)


@contextlib.contextmanager
def recording_inputs() -> Iterator[set[InputFile]]:
    """Collect the input files read inside the ``with`` block (and pass them on to outer blocks).

    Examples
    --------
    >>> with recording_inputs() as inputs:
    ...     record_input("scene.yaml")
    >>> [entry.path.name for entry in inputs]
    ['scene.yaml']
    """
    inputs: set[InputFile] = set()
    token = _SCOPES.set((*_SCOPES.get(), inputs))
    try:
        yield inputs
    finally:
        _SCOPES.reset(token)


def recorded_inputs() -> frozenset[InputFile]:
    """Every input file recorded by the enclosing scopes so far."""
    return frozenset().union(*_SCOPES.get())


def input_overwritten_by(path: str | Path, inputs: Iterable[InputFile] = ()) -> InputFile | None:
    """The input that writing ``path`` would replace, among ``inputs`` and the recorded ones, or None."""
    for entry in (*inputs, *recorded_inputs()):
        if entry.is_same_file(path):
            return entry
    return None


def check_input_file(path: Path, *, where: str, kind: str) -> None:
    """Refuse a missing file, a folder or a symlink loop given as an input, naming ``where``.

    Parameters
    ----------
    path : Path
        The file.
    where : str
        How to name it in the message (the field and the path).
    kind : str
        What it should be, e.g. ``"audio file"``.

    Raises
    ------
    InputFileError
    """
    from soundstage.errors import InputFileError

    try:
        path.stat()
    except OSError as error:
        if path.is_symlink() and error.errno == errno.ELOOP:
            raise InputFileError(f"{where}: is a symlink loop; point it at a real {kind}") from None
        if path.is_symlink():
            raise InputFileError(f"{where}: is a symlink to a missing file; point it at a real {kind}") from None
        if error.errno in (errno.ENOENT, errno.ENOTDIR):
            raise InputFileError(
                f"{where}: file does not exist (resolved to {path.resolve()}); check the path"
            ) from None
        raise InputFileError(f"{where}: cannot be read ({error.strerror or error}); check its permissions") from None
    if path.is_dir():
        raise InputFileError(f"{where}: is a folder, not an {kind}; give the path of a file")


def _resolve(path: str | Path) -> Path:
    """``path`` made absolute with symlinks followed as far as they go (loops are left as they are)."""
    try:
        return Path(os.path.realpath(os.fspath(path)))
    except (OSError, ValueError):
        return Path(os.path.abspath(os.fspath(path)))
