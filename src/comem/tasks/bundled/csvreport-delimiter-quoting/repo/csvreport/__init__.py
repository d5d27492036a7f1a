"""Grouped tabular reports exported as CSV or text."""

from .model import Column, Report
from .render import render_csv, render_text
from .writer import CsvWriter

__all__ = ["Column", "CsvWriter", "Report", "render_csv", "render_text"]
