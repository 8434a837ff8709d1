"""The errors Soundstage raises for things a user can fix.

Every error raised for bad input derives from :class:`SoundstageError`, so the CLI
can print it as one line and exit non-zero, while genuine bugs keep their traceback.
Messages name the file and/or field at fault and say what to do about it.
"""

from __future__ import annotations


class SoundstageError(Exception):
    """Base class of the errors a user can fix (bad input, missing file, offline)."""


class ParameterError(SoundstageError, ValueError):
    """A parameter or scene field has a value that is not allowed."""


class InputFileError(SoundstageError, ValueError):
    """A file given as input is missing, empty, corrupt or of the wrong kind."""


class OutputError(SoundstageError, OSError):
    """An output cannot be written (exists without ``overwrite``, unwritable, would clip)."""


class DownloadError(SoundstageError, OSError):
    """A resource could not be downloaded or failed its checksum."""


def one_line(error: BaseException) -> str:
    """An error's message on one line (the lines of a longer message joined with "; ").

    >>> one_line(ValueError("a\\n  b"))
    'a; b'
    >>> one_line(KeyError())
    'KeyError'
    """
    return "; ".join(part.strip() for part in str(error).splitlines() if part.strip()) or type(error).__name__


def first_line(error: BaseException) -> str:
    """An error's message cut to its first line (other libraries' messages can run to paragraphs).

    >>> first_line(OSError("disk full\\ntraceback follows"))
    'disk full'
    """
    text = str(error).strip().splitlines()
    return text[0].strip() if text else type(error).__name__
