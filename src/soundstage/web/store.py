"""Uploaded files, addressed by server-made identifiers: no name or path from a request reaches the disk.

An upload's identifier is the first 32 hex digits of its SHA-256, so the same bytes are stored once
and a job that names its inputs by identifier is named by their content (the job cache relies on it).
Each upload is a folder ``uploads/<id>/`` holding ``data.<ext>`` and ``meta.json``, created under a
temporary name and renamed into place, so a crash never leaves a half-stored upload, and several
processes (the server and its workers) may add files at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from soundstage.cache import sha256_of
from soundstage.errors import SoundstageError
from soundstage.web.content import describe_upload, describe_upload_isolated
from soundstage.web.limits import Limits

#: What an identifier looks like; anything else is refused before it is used.
ID_PATTERN = re.compile(r"[0-9a-f]{32}")
#: How a scene names an upload: ``"upload:<id>"``.
REF_PREFIX = "upload:"


class UnknownId(SoundstageError, LookupError):
    """No upload or job has this identifier (or it has expired)."""

    status = 404


def check_id(value: str, what: str) -> str:
    """``value`` if it is a well-formed identifier, else :class:`UnknownId` (no lookup is attempted).

    >>> check_id("0" * 32, "upload")
    '00000000000000000000000000000000'
    """
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise UnknownId(f"{what} {str(value)[:80]!r}: no such {what}; identifiers are 32 hex digits the server made")
    return value


class UploadStore:
    """Uploaded and generated files of one server.

    Parameters
    ----------
    root : Path
        The server's data folder; uploads live in ``root/uploads``.
    limits : Limits
    """

    def __init__(self, root: Path, limits: Limits) -> None:
        self.folder = Path(root) / "uploads"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.limits = limits

    def add(self, path: Path, name: str, *, expected: str | None = None, isolated: bool = False) -> dict[str, Any]:
        """Check the file at ``path`` by its content and store it; returns its metadata.

        ``path`` is consumed (moved into the store, or removed when the same bytes are already there
        or the file is refused). ``isolated`` runs the check in a child process with bounded memory and
        time (for what users send; files the server made itself are checked in-process).
        """
        describe = describe_upload_isolated if isolated else describe_upload
        try:
            described = describe(path, _display_name(name), self.limits, expected=expected)
            upload_id = sha256_of(path)[:32]
            meta = {
                "id": upload_id,
                "kind": described.kind,
                "container": described.container,
                "media_type": described.media_type,
                "name": _display_name(name),
                "bytes": path.stat().st_size,
                **described.facts,
            }
            target = self.folder / upload_id
            if not target.exists():
                staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.folder))
                os.replace(path, staging / data_name(described.container))
                (staging / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
                try:
                    os.rename(staging, target)
                except OSError:  # another process stored the same bytes first
                    shutil.rmtree(staging, ignore_errors=True)
            self.touch(upload_id)
            return self.meta(upload_id)
        finally:
            path.unlink(missing_ok=True)

    def add_bytes(self, data: bytes, name: str, *, expected: str | None = None) -> dict[str, Any]:
        """:meth:`add` for bytes in memory (generated sounds, a video's first frame)."""
        handle, temporary = tempfile.mkstemp(prefix=".bytes-", dir=self.folder)
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        return self.add(Path(temporary), name, expected=expected)

    def meta(self, upload_id: str) -> dict[str, Any]:
        """The metadata of an upload (404-worthy :class:`UnknownId` when there is none)."""
        folder = self.folder / check_id(upload_id, "upload")
        try:
            return json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnknownId(
                f"upload {upload_id}: no such upload (uploads expire after a while); upload it again"
            ) from None

    def path(self, upload_id: str, *, kind: str | None = None, field: str = "upload") -> Path:
        """Where an upload's bytes are; with ``kind``, the upload must be of that kind."""
        meta = self.meta(upload_id)
        if kind is not None and meta["kind"] != kind:
            raise UnknownId(f"{field}: upload {upload_id} ({meta['name']}) is a {meta['kind']}, not a {kind}")
        self.touch(upload_id)
        return self.folder / upload_id / data_name(meta["container"])

    def id_of_path(self, path: str | Path) -> str | None:
        """The identifier of a path inside the store, else None."""
        path = Path(path)
        if (
            path.name.startswith("data.")
            and path.parent.parent == self.folder
            and ID_PATTERN.fullmatch(path.parent.name)
        ):
            return path.parent.name
        return None

    def touch(self, upload_id: str) -> None:
        """Mark an upload as used now (expiry counts from the last use)."""
        with contextlib.suppress(FileNotFoundError):
            os.utime(self.folder / upload_id / "meta.json")

    def expire(self, now: float | None = None) -> int:
        """Remove uploads unused for longer than the limits' ``keep_seconds``; returns how many."""
        now = time.time() if now is None else now
        removed = 0
        for folder in self.folder.iterdir():
            meta = folder / "meta.json"
            with contextlib.suppress(FileNotFoundError):
                stale_staging = folder.name.startswith(".") and now - folder.stat().st_mtime > 3600
                if stale_staging or (
                    ID_PATTERN.fullmatch(folder.name) and now - meta.stat().st_mtime > self.limits.keep_seconds
                ):
                    if folder.is_dir():
                        shutil.rmtree(folder, ignore_errors=True)
                    else:
                        folder.unlink()
                    removed += 1
        return removed


def data_name(container: str) -> str:
    """The stored file's name: ``data`` with the extension readers expect (a SOFA head must end in .sofa).

    >>> data_name("hdf5"), data_name("jpeg")
    ('data.sofa', 'data.jpg')
    """
    return "data." + {"hdf5": "sofa", "jpeg": "jpg"}.get(container, container)


def _display_name(name: str) -> str:
    """A file name to show and nothing more: its last component, printable, at most 120 characters.

    >>> _display_name("../../etc/passwd")
    'passwd'
    >>> _display_name("C:\\\\Users\\\\me\\\\dog.wav")
    'dog.wav'
    """
    last = re.split(r"[\\/]", str(name or ""))[-1]
    cleaned = "".join(ch for ch in last if ch.isprintable()).strip()
    return cleaned[:120] or "upload"


