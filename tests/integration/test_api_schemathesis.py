"""Property-based test of the whole API against its own OpenAPI document (schemathesis, through WSGI).

Every operation in the document is exercised — valid and invalid requests generated from its schemas — and every
response is checked: no 5xx, a documented status, a body matching the documented schema, 401 without the token,
405 for undocumented methods... An endpoint added later is covered as soon as it is declared, with no change here.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from stella.api.openapi import build_document
from stella.services import api_tokens as token_service
from tests.factories import make_user

# Examples per operation and generation mode: enough to find the usual mistakes, small enough for a shared CI box.
MAX_EXAMPLES = 30


@pytest.fixture()
def admin_headers(db, now):
    # The most capable role, so every operation runs its real code rather than stopping at a 403.
    admin = make_user("admin")
    _, plaintext = token_service.create_api_token(admin, "schemathesis", now)
    db.session.commit()
    return {"Authorization": f"Bearer {plaintext}"}


# The document the app serves at /api/v1/openapi.json (test_api_foundation checks that it is the same), loaded at
# collection time so each operation is its own test: `pytest -k "POST /api/v1/tokens"` runs one.
schema = schemathesis.openapi.from_dict(build_document())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    # One database transaction (the `db` fixture) per operation is intended; examples share it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_matches_its_documentation(case, app, admin_headers):
    # The schema was loaded before any app existed (there is one per database backend): send to this one, over WSGI.
    case.operation.schema.app = app
    case.call_and_validate(excluded_checks=[positive_data_acceptance], headers=admin_headers, app=app)
