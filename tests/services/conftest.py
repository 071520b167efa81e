"""The ``desk`` fixture of the service tests (see service_helpers.Desk).

It keeps an app context pushed for the test body: these tests never use the HTTP test
client (FLASK-ADMIN.md P14 concerns client requests only).
"""

import pytest
from service_helpers import Desk

from models import db


@pytest.fixture
def desk(app, org):
    with app.app_context():
        yield Desk(org)
        db.session.rollback()
