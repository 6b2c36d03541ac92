from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """A router whose routes match with or without the trailing slash, so API clients are never redirected."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"
