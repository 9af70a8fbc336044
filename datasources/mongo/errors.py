class Conflict(ValueError):
    """A write would break a uniqueness rule; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
