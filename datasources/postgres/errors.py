class NotFound(LookupError):
    """A row the caller named does not exist in the caller's account."""

    def __init__(self, kind: str, id: object) -> None:
        super().__init__(f"{kind} {id} not found")
        self.kind = kind
        self.id = id


class Conflict(ValueError):
    """A write would break a uniqueness or consistency rule; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
