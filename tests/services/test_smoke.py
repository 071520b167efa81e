"""A complaint carried from registration to closed through the services."""

from datetime import datetime

from sqlalchemy import func, select

from models import Complaint, ComplaintEvent, Staff, db
from services.complaints import perform, register


def test_full_lifecycle(app, org):
    """Register, accept, forward, assign, resolve, approve, two callbacks, close."""
    with app.app_context():
        intake = db.session.get(Staff, org.users["intake"])
        c = register({"customer_name": "张三", "customer_phone": "+86 138-0013-8000",
                      "description": "冷藏室不制冷",
                      "title": "冰箱不制冷", "category": "product_quality"}, intake,
                     now=datetime(2026, 9, 29, 9))
        assert c.number == "TS-20260929-0001"
        assert c.customer_phone_norm == "13800138000"
        assert c.callbacks_required == 2
        t = datetime(2026, 9, 30, 10)
        head = db.session.get(Staff, org.users["head_qa"])
        handler = db.session.get(Staff, org.users["handler_qa"])
        perform(c.id, "accept", intake, now=t)
        perform(c.id, "forward", intake, {"department_id": org.qa}, now=t)
        c = db.session.get(Complaint, c.id)
        assert c.resolve_due == datetime(2026, 10, 15, 23, 59, 59)
        perform(c.id, "assign", head, {"assignee_id": handler.id}, now=t)
        perform(c.id, "resolve", handler, {"root_cause": "x", "responsibility": "company",
                                           "remedy": "exchange", "resolution": "换新"}, now=t)
        perform(c.id, "review_approve", intake, now=t)
        for _ in range(2):
            perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                               "satisfaction": "satisfied", "solved": True}, now=t)
        out = perform(c.id, "close", intake, now=t)
        assert out.complaint.status == "closed"
        n = db.session.scalar(select(func.count()).select_from(ComplaintEvent))
        assert n == 9  # register … close: one event per step
