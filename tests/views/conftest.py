"""Fixtures of the screen tests beyond the standard organisation (tests/conftest.py).

``wide_org``: the standard ``org`` plus senior management and the accountability
department — HR (行政人事部, the default accountability department) with its head
``head_hr``, and GMO (总经理办公室) with the ``executive`` — so that a test can log in as
every role.
"""

from __future__ import annotations

import pytest

from rules import Role
from tests.factories import PASSWORD

WIDE_ORG_USERS = [
    ("head_hr", Role.DEPT_HEAD, "HR"),
    ("executive", Role.EXECUTIVE, "GMO"),
]


@pytest.fixture
def wide_org(app, org):
    """``org`` with the HR and GMO departments, ``head_hr`` and ``executive`` added."""
    from models import Department, db
    from services.auth import create_user

    with app.app_context():
        depts = {}
        for code, name in (("HR", "行政人事部"), ("GMO", "总经理办公室")):
            d = Department(code=code, name=name, is_customer_service=False, active=True)
            db.session.add(d)
            depts[code] = d
        db.session.commit()
        for username, role, dept in WIDE_ORG_USERS:
            org.users[username] = create_user(
                username, username.replace("_", " ").title(), role, PASSWORD,
                department_id=depts[dept].id).id
        db.session.get(Department, depts["HR"].id).head_id = org.users["head_hr"]
        db.session.commit()
        org.hr, org.gmo = depts["HR"].id, depts["GMO"].id
    return org
