"""Named schedules."""

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def expand_alias(text):
    """'@daily' -> '0 0 * * *'; other text is returned unchanged."""
    key = text.strip().lower()
    if key.startswith("@"):
        if key not in ALIASES:
            from .fields import CronError

            raise CronError(f"unknown alias {text.strip()!r}")
        return ALIASES[key]
    return text
