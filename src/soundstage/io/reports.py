"""Machine-readable reports (JSON, CSV), written atomically like every other output."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.io.atomic import atomic_write


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists; NaN and infinities as None (JSON has neither)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(data: Mapping[str, Any], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``data`` as indented JSON; numpy values become plain numbers, NaN becomes null.

    Parameters
    ----------
    data : mapping
        The report.
    path : str or Path
        File to write (atomically).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.json"
    >>> _ = write_json({"t30_s": np.float64(0.5), "c50_db": float("nan")}, path)
    >>> json.loads(path.read_text())
    {'t30_s': 0.5, 'c50_db': None}
    """
    path = Path(path)
    text = json.dumps(_plain(data), indent=2, allow_nan=False) + "\n"
    with atomic_write(path, overwrite=overwrite) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_csv(rows: Iterable[Mapping[str, Any]], path: str | Path, *, overwrite: bool = False) -> Path:
    """Write rows of a table as CSV with a header of every key seen, in first-seen order.

    Missing values are left empty; NaN is written as an empty cell too.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> _ = write_csv([{"file": "a.wav", "snr": 5.0}, {"file": "b.wav", "stft": 1.0}], path)
    >>> print(path.read_text().strip())
    file,snr,stft
    a.wav,5.0,
    b.wav,,1.0
    """
    rows = [_plain(dict(row)) for row in rows]
    fields: list[str] = []
    for row in rows:
        fields.extend(key for key in row if key not in fields)
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as temporary, temporary.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({key: ("" if row.get(key) is None else row[key]) for key in fields})
    return path
