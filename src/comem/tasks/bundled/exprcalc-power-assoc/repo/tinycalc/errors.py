class CalcError(Exception):
    """Evaluation failed (unknown name, division by zero, ...)."""


class CalcSyntaxError(CalcError):
    def __init__(self, message, text="", pos=None):
        if pos is not None and text:
            message = f"{message}\n  {text}\n  {' ' * pos}^"
        super().__init__(message)
        self.pos = pos
