"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis, in-process WSGI).

Every operation of /api/schema/ gets a bounded number of generated requests, valid and invalid
(FUZZ_EXAMPLES per operation, default 15), sent as a superuser with a JWT. Each response must not
be a 5xx, must use a status code and content type the schema declares, and must match the
declared response schema. Path ids are steered half the time to records that exist, so detail,
update, refund and adjustment operations are exercised beyond their 404.
"""

import os
from decimal import Decimal

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from catalog.tests.factories import CategoryFactory, ProductFactory
from sales.tests.factories import sell

# Autocommit, as in production: one failed statement must not poison the requests after it.
pytestmark = pytest.mark.django_db(transaction=True)

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzz_store(make_user):
    """A few records of each kind for path ids to point at, and a superuser's access token."""
    categories = [CategoryFactory() for _ in range(2)]
    products = [ProductFactory(category=categories[i % 2], initial_stock=50, price=Decimal("9.99")) for i in range(3)]
    sales = [sell((products[0], 2), (products[1], 1)), sell((products[2], 3))]
    admin = make_user(is_superuser=True, is_staff=True, username="fuzz-admin")
    return {
        "token": str(RefreshToken.for_user(admin).access_token),
        "ids": {
            "/api/v1/categories/": [c.pk for c in categories],
            "/api/v1/products/": [p.pk for p in products],
            "/api/v1/inventory/": [p.pk for p in products],
            "/api/v1/sales/": [s.pk for s in sales],
        },
    }


# Loaded at collection, from the app itself: generating the schema needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


def steer_to_existing(case, ids: dict[str, list[int]]) -> None:
    """Point an id path parameter at an existing record for even generated values (odd ones stay as fuzzed)."""
    for name, value in (case.path_parameters or {}).items():
        if not isinstance(value, int) or value % 2:
            continue
        for prefix, known in ids.items():
            if case.path.startswith(prefix):
                case.path_parameters[name] = known[(value // 2) % len(known)]


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_fuzz_no_server_error_and_responses_match_the_schema(case, fuzz_store):
    steer_to_existing(case, fuzz_store["ids"])
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_store['token']}"}, checks=CHECKS)
