"""The ``desk`` fixture of the service tests (see tests.factories.Desk).

It keeps an app context pushed for the test body: these tests never use the HTTP test
client (FLASK-ADMIN.md P14 concerns client requests only).
"""

import pytest

from models import db
from services.auth import create_user
from tests.factories import PASSWORD, Desk


@pytest.fixture
def desk(app, org):
    with app.app_context():
        yield Desk(org)
        db.session.rollback()


@pytest.fixture
def executive(desk):
    """A senior manager (role executive, in customer service's department for the tests)."""
    user = create_user("executive", "Lin Tao", "executive", PASSWORD,
                       department_id=desk.org.cs)
    desk.org.users["executive"] = user.id
    return user.id
