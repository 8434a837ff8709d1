"""Well-known public HRTF sets by name, downloaded once into a cache and checksum-verified.

Only sets whose SHA-256 has been verified against the published file are listed; a set
is never used unless the downloaded bytes match. The cache lives in
``$SOUNDSTAGE_CACHE/hrtf`` (default ``~/.cache/soundstage/hrtf``), and
``$SOUNDSTAGE_HRTF_MIRROR`` (a URL prefix to which the file name is appended) replaces the
publisher's address, e.g. for a local mirror.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from soundstage.cache import sha256_of
from soundstage.errors import DownloadError, ParameterError

#: Seconds to wait for the server to answer (and between received blocks).
DOWNLOAD_TIMEOUT_S = 30.0
_BLOCK = 1 << 16


@dataclass(frozen=True)
class HrtfEntry:
    """One registered HRTF set.

    Attributes
    ----------
    name : str
        Registered name (``mit_kemar``).
    url : str
        Where the publisher serves the SOFA file.
    sha256 : str
        Hex SHA-256 of the file.
    filename : str
        File name in the cache (and appended to a mirror prefix).
    description : str
        One line for ``soundstage info``.
    citation : str
        Licence and the reference to cite.
    aliases : tuple of str
        Other names accepted for the set.
    """

    name: str
    url: str
    sha256: str
    filename: str
    description: str
    citation: str
    aliases: tuple[str, ...] = ()

    def cache_path(self, cache_dir: str | os.PathLike | None = None) -> Path:
        """Where the set is (or would be) cached."""
        return hrtf_cache_dir(cache_dir) / self.filename

    def is_cached(self, cache_dir: str | os.PathLike | None = None) -> bool:
        """True when the cached file exists and has the right checksum."""
        path = self.cache_path(cache_dir)
        return path.is_file() and sha256_of(path) == self.sha256

    def download_url(self) -> str:
        """The publisher's URL, or the mirror's when ``SOUNDSTAGE_HRTF_MIRROR`` is set."""
        mirror = os.environ.get("SOUNDSTAGE_HRTF_MIRROR", "").strip()
        return f"{mirror.rstrip('/')}/{self.filename}" if mirror else self.url


_REGISTRY: tuple[HrtfEntry, ...] = (
    HrtfEntry(
        name="mit_kemar",
        url="https://sofacoustics.org/data/database/mit/mit_kemar_normal_pinna.sofa",
        sha256="e7035994f5fd754058424c061380ee92b1d5ed58fccef2887a4266916616acdf",
        filename="mit_kemar_normal_pinna.sofa",
        description="MIT KEMAR, normal pinna (Gardner & Martin 1995), 710 directions, 44.1 kHz",
        citation=(
            "Provided without usage restrictions; please cite Gardner, W. G., and Martin, K. D. (1995). "
            '"HRTF measurements of a KEMAR," J Acoust Soc Am 97, 3907-3908.'
        ),
        aliases=("mit_kemar_normal_pinna",),
    ),
)


def list_hrtfs() -> list[HrtfEntry]:
    """The registered HRTF sets.

    Examples
    --------
    >>> [entry.name for entry in list_hrtfs()]
    ['mit_kemar']
    """
    return list(_REGISTRY)


def registered_names() -> list[str]:
    """Every accepted registered name, aliases included."""
    return [name for entry in _REGISTRY for name in (entry.name, *entry.aliases)]


def get_entry(name: str) -> HrtfEntry:
    """The registry entry called ``name`` (or with that alias).

    Raises
    ------
    ParameterError
        When no set has that name.
    """
    for entry in _REGISTRY:
        if name == entry.name or name in entry.aliases:
            return entry
    raise ParameterError(f"no registered HRTF set is called {name!r}; known sets: {', '.join(registered_names())}")


def hrtf_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, or ``$SOUNDSTAGE_CACHE/hrtf``, or ``~/.cache/soundstage/hrtf``."""
    from soundstage.cache import cache_dir as kind_dir

    return Path(cache_dir) if cache_dir is not None else kind_dir("hrtf")


def fetch_hrtf(name: str, *, cache_dir: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Path of a registered HRTF set, downloading and verifying it first if needed.

    Parameters
    ----------
    name : str
        Registered name (see :func:`list_hrtfs`).
    cache_dir : str, PathLike or None
        Folder for the file (default: see :func:`hrtf_cache_dir`).
    progress : bool, default True
        Show a progress bar (only when stderr is a terminal).

    Returns
    -------
    Path
        The verified file in the cache.

    Raises
    ------
    ParameterError
        When ``name`` is not registered.
    DownloadError
        When the server cannot be reached, the download fails its checksum, or the set is not
        cached and offline mode is on (see :mod:`soundstage.offline`).
    """
    entry = get_entry(name)
    target = entry.cache_path(cache_dir)
    if target.is_file() and sha256_of(target) == entry.sha256:
        return target
    from soundstage.offline import is_offline, offline_reason

    if is_offline():
        raise DownloadError(
            f"HRTF set {entry.name!r} is not in the cache at {target} and downloads are off ({offline_reason()}); "
            f"put {entry.filename} there (from {entry.url}), or pass --hrtf PATH.sofa, or use --hrtf sphere"
        )
    url = entry.download_url()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the HRTF cache folder {target.parent}: {exc}") from exc
    handle, temp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", suffix=".part", dir=target.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as out:
            actual = _download(url, out, show=progress and sys.stderr.isatty(), entry=entry, target=target)
        if actual != entry.sha256:
            raise DownloadError(
                f"{url} failed its checksum (expected sha256 {entry.sha256}, got {actual}); nothing was cached"
            )
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
    return target


def _download(url: str, out, *, show: bool, entry: HrtfEntry, target: Path) -> str:
    """Copy ``url`` into the open file ``out`` and return the SHA-256 of what was written."""
    import urllib.error  # here, not at the top: every render imports this module, few download
    import urllib.request

    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            bar = None
            if show:
                from tqdm import tqdm

                bar = tqdm(total=total, unit="B", unit_scale=True, desc=f"downloading {entry.name}", leave=False)
            try:
                for block in iter(lambda: response.read(_BLOCK), b""):
                    out.write(block)
                    digest.update(block)
                    if bar is not None:
                        bar.update(len(block))
            finally:
                if bar is not None:
                    bar.close()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot download {entry.name} from {url} ({reason}); download it by hand from {entry.url} to "
            f"{target}, or pass --hrtf PATH.sofa, or use the built-in --hrtf sphere"
        ) from exc
    return digest.hexdigest()
