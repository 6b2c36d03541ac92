from datetime import datetime

import pytest
from django.utils import timezone

ANALYTICS = "sales.view_sale"


@pytest.fixture
def freeze(monkeypatch):
    """Stop the clock at an instant (for the views, the services and auto_now fields alike)."""

    def freeze_at(moment: datetime) -> datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return freeze_at


@pytest.fixture
def analyst(client_as):
    return client_as(ANALYTICS)


@pytest.fixture
def reader(client_as):
    """May read analytics and the inventory (the Analyst role has both)."""
    return client_as(groups=("Analyst",))
