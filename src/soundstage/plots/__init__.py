"""Figures written as PNG files (matplotlib, imported only when a figure is drawn)."""
