"""cronlite: cron expressions."""

from .aliases import ALIASES
from .fields import FIELDS, CronError
from .parser import CronExpr, parse
from .schedule import iter_fires, matches, next_fire, previous_fire

__all__ = ["ALIASES", "FIELDS", "CronError", "CronExpr", "iter_fires", "matches", "next_fire", "parse", "previous_fire"]
