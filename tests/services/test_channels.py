"""services.channels: the inactive accounts that register what the public channels bring."""

from __future__ import annotations

from sqlalchemy import func, select

from rules import Role


def test_channel_account_is_created_once_inactive_in_customer_service(app, org):
    from models import Staff, db
    from services.channels import channel_account

    with app.app_context():
        web = channel_account("web")
        assert web.username == "channel-web"
        assert web.full_name == "网站投诉表单"
        assert web.role == Role.INTAKE
        assert web.active is False and not web.is_active
        assert web.department_id == org.cs
        again = channel_account("web")
        assert again.id == web.id
        email = channel_account("email")
        assert email.id != web.id and email.full_name == "投诉邮箱"
        assert db.session.scalar(select(func.count()).select_from(Staff)
                                 .where(Staff.username.like("channel-%"))) == 2


def test_channel_account_cannot_sign_in(app, org, client):
    """No password matches its hash, and the account is inactive: the login is refused."""
    from werkzeug.security import check_password_hash

    from services.channels import channel_account
    from tests.factories import AuthActions

    with app.app_context():
        hashed = channel_account("web").password_hash
    assert not check_password_hash(hashed, "") and not check_password_hash(hashed, hashed)
    r = AuthActions(client).login("channel-web", password=hashed)
    assert r.status_code == 401
    assert client.get("/admin/").status_code == 302  # still not signed in


def test_unknown_channel_refused(app):
    import pytest

    from services.channels import channel_account

    with app.app_context(), pytest.raises(ValueError):
        channel_account("fax")


def test_concurrent_first_use_creates_one_account(app, org):
    """Several processes asking for the web account at once: one row, the same id for all."""
    from models import Staff, db
    from services.channels import channel_account
    from tests.test_concurrency import run_threads

    ids = []

    def work(_index):
        ids.append(channel_account("web").id)
        db.session.remove()

    errors = run_threads(app, work, n=6)
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == 6
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Staff)
                                 .where(Staff.username == "channel-web")) == 1
