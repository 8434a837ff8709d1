"""The two things every figure needs: a headless pyplot, and an atomic PNG save."""

from __future__ import annotations

from pathlib import Path

from soundstage.io.atomic import atomic_write


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported here, not at CLI start-up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str | Path, *, overwrite: bool) -> Path:
    """Lay out ``figure``, write it as PNG to ``path`` atomically, and close it.

    Raises
    ------
    OutputError
        If ``path`` exists (without ``overwrite``) or cannot be written.
    """
    path = Path(path)
    figure.tight_layout()
    try:
        with atomic_write(path, overwrite=overwrite) as temporary:
            figure.savefig(temporary, dpi=110, format="png")
    finally:
        pyplot().close(figure)
    return path
