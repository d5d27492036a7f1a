class TemplateError(Exception):
    """Errors raised while rendering."""


class TemplateSyntaxError(TemplateError):
    def __init__(self, message, lineno=None):
        super().__init__(f"line {lineno}: {message}" if lineno else message)
        self.lineno = lineno
