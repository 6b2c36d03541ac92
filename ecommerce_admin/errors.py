"""The base of every domain error a service raises, and how it reaches a client."""

from typing import Any


class DomainError(Exception):
    """A business rule refused the operation; the API answers `status_code` with `code`."""

    status_code = 409
    code = "conflict"
    default_message = "The request conflicts with the current state."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)

    def as_payload(self) -> dict[str, Any]:
        return {"detail": self.message, "code": self.code, **self.extra}
