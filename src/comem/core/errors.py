"""One error type for bad input: it carries the fix, so the CLI can print one clear line."""


class ComemError(Exception):
    """A user-facing error. `fix` says what to do about it."""

    def __init__(self, message: str, fix: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} Fix: {self.fix}" if self.fix else self.message
