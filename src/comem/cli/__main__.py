"""`python -m comem.cli` (as `accelerate launch -m comem.cli` needs)."""

from comem.cli.main import app

app()
