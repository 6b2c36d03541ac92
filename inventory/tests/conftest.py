import pytest

from inventory.selectors import ledger_violations


@pytest.fixture(autouse=True)
def ledger_stays_consistent(request):
    """After every test that used the database, every product's ledger still sums to its stock."""
    yield
    if request.node.get_closest_marker("django_db"):
        violations = ledger_violations()
        assert not violations, "ledger invariant broken: " + "; ".join(violations)
