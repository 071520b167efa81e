"""Demo data: departments, one user per role, ~300 complaints in every status (idempotent)."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import func, select

from models import Category, Complaint, Department, Staff, db
from models.engine import write_transaction
from rules import Action, Role, RuleError, Status

from . import clock
from .auth import create_user
from .complaints import perform, register

DEMO_PASSWORD = "demo-pass-2026"

DEPARTMENTS = [
    ("CS", "客户服务部", True),
    ("QA", "质量管理部", False),
    ("LOG", "物流部", False),
    ("SALES", "销售部", False),
    ("FIN", "财务部", False),
    ("HR", "行政人事部", False),  # the accountability department (Settings)
    ("GMO", "总经理办公室", False),  # senior management
]

# username, full name, role, department code
USERS = [
    ("admin", "系统管理员 Admin", Role.ADMIN, "CS"),
    ("intake", "王小明 Wang Xiaoming", Role.INTAKE, "CS"),
    ("manager", "李经理 Li Na", Role.MANAGER, "CS"),
    ("supervisor", "赵督察 Zhao Lei", Role.SUPERVISOR, "CS"),
    ("head_qa", "陈主任 Chen Jie", Role.DEPT_HEAD, "QA"),
    ("handler_qa", "刘工 Liu Yang", Role.HANDLER, "QA"),
    ("head_log", "孙主管 Sun Hao", Role.DEPT_HEAD, "LOG"),
    ("handler_log", "周师傅 Zhou Bin", Role.HANDLER, "LOG"),
    ("head_sales", "吴经理 Wu Fang", Role.DEPT_HEAD, "SALES"),
    ("handler_sales", "郑专员 Zheng Wei", Role.HANDLER, "SALES"),
    ("head_fin", "钱主任 Qian Li", Role.DEPT_HEAD, "FIN"),
    ("handler_fin", "冯会计 Feng Yu", Role.HANDLER, "FIN"),
    ("head_hr", "何主任 He Min", Role.DEPT_HEAD, "HR"),
    ("executive", "林总 Lin Tao", Role.EXECUTIVE, "GMO"),
]

SAMPLES = [
    ("product_quality", "QA", "冰箱使用一周后不制冷", "客户反映新购冰箱使用一周后冷藏室不制冷。", "要求换新机"),
    ("product_quality", "QA", "Kettle lid cracked after two days", "The lid of the electric kettle cracked.", "Refund"),
    ("delivery", "LOG", "快递延误五天未送达", "订单显示已发货五天，物流信息一直未更新。", "尽快送达并补偿运费"),
    ("delivery", "LOG", "Parcel delivered to the wrong address", "Courier left the parcel next door.", "Redeliver"),
    ("service", "SALES", "门店店员态度恶劣", "客户在门店咨询时店员不耐烦，语气生硬。", "要求道歉"),
    ("billing", "FIN", "发票抬头开错", "客户收到的电子发票抬头与申请不一致。", "重开发票"),
    ("billing", "FIN", "Charged twice for one order", "The card statement shows two charges.", "Refund the duplicate"),
    ("packaging", "LOG", "包装破损导致商品划伤", "外箱破损，商品表面有明显划痕。", "换货"),
    ("service", "SALES", "Hotline kept me waiting 40 minutes", "Long wait on the hotline.", "Call back"),
    ("other", "SALES", "会员积分未到账", "上月消费的积分至今未到账。", "补发积分"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"

# How the ~300 complaints spread over the workflow (final status → share).
SPREAD = [
    (Status.REGISTERED, 30), (Status.ACCEPTED, 20), (Status.REJECTED, 25),
    (Status.FORWARDED, 35), (Status.IN_PROGRESS, 60), (Status.RESOLVED, 25),
    (Status.CALLBACK, 30), (Status.CLOSED, 85),
]


def _ensure_org():
    with write_transaction(db.session):
        for code, name, is_cs in DEPARTMENTS:
            if not db.session.scalar(select(Department).filter_by(code=code)):
                db.session.add(Department(code=code, name=name, active=True, is_customer_service=is_cs))
    depts = {d.code: d for d in db.session.scalars(select(Department))}
    for username, full_name, role, dept in USERS:
        if not db.session.scalar(select(Staff).filter_by(username=username)):
            # example.com addresses (RFC 2606): mail pointed at a real server reaches no one.
            create_user(username, full_name, role, DEMO_PASSWORD, department_id=depts[dept].id,
                        email=f"{username}@example.com")
    with write_transaction(db.session):
        for username, _, role, dept in USERS:
            if role == Role.DEPT_HEAD:
                head = db.session.scalar(select(Staff).filter_by(username=username))
                db.session.get(Department, depts[dept].id).head_id = head.id
    return depts


def load_demo(count: int = 300, seed: int = 20261123) -> str:
    _ensure_org()
    existing = db.session.scalar(select(func.count()).select_from(Complaint))
    if existing:
        return f"Demo data already present ({existing} complaints); nothing added."
    rnd = random.Random(seed)
    staff = {s.username: s for s in db.session.scalars(select(Staff))}
    cats = {c.code: c.id for c in db.session.scalars(select(Category))}
    heads = {"QA": "head_qa", "LOG": "head_log", "SALES": "head_sales", "FIN": "head_fin"}
    handlers = {"QA": "handler_qa", "LOG": "handler_log", "SALES": "handler_sales",
                "FIN": "handler_fin"}
    intake, manager = staff["intake"], staff["manager"]
    today = clock.now()
    targets = [status for status, n in SPREAD for _ in range(n)]
    rnd.shuffle(targets)
    for n, target in enumerate(targets[:count]):
        cat, dept_code, title, desc, demand = SAMPLES[n % len(SAMPLES)]
        # Finished complaints spread over the last months; open ones are recent, as in a
        # desk that keeps up (some of them are still overdue).
        days = rnd.randint(0, 75) if target in (Status.CLOSED, Status.REJECTED) else rnd.randint(0, 9)
        start = today - timedelta(days=days, hours=rnd.randint(0, 10))
        kind = "consultation" if n % 17 == 0 else ("suggestion" if n % 23 == 0 else "complaint")
        c = register({
            "customer_name": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
            "customer_phone": f"1{rnd.choice('3589')}{rnd.randint(0, 9)}{rnd.randint(10000000, 99999999)}",
            "customer_email": f"customer{n}@example.com" if n % 3 == 0 else "",
            "customer_class": rnd.choice("AABBBCCCCD"),
            "kind": kind,
            "channel": rnd.choice(["phone", "hotline", "email", "web", "social", "walk_in",
                                   "letter", "transferred"]),
            "severity": rnd.choice(["normal"] * 7 + ["major"] * 2 + ["critical"]),
            "category_id": cats[cat],
            "title": title,
            "description": desc,
            "demand": demand,
            "received_at": start,
        }, intake, now=start)
        _walk(c.id, target, dept_code, staff, heads, handlers, intake, manager, start, rnd, today)
    from .sweep import sweep

    marked = sweep(today).marked
    return (f"Demo data loaded: {len(DEPARTMENTS)} departments, {len(USERS)} users "
            f"(password {DEMO_PASSWORD!r}), {count} complaints; {marked} marked overdue.")


def _walk(cid, target, dept_code, staff, heads, handlers, intake, manager, t, rnd, today):
    """Move one complaint along the workflow to its target status, as people would."""

    def step(action, actor, hours, **inputs):
        nonlocal t
        t = min(t + timedelta(hours=hours), today)  # nothing happens in the future
        perform(cid, action, actor, inputs, now=t)

    try:
        if target == Status.REGISTERED:
            return
        if target == Status.REJECTED:
            step(Action.REJECT, intake, 2, reason="重复投诉，已合并到前一单 / duplicate of an earlier complaint")
            if rnd.random() < 0.5:  # the customer was told why: closed as invalid
                step(Action.REPLY, intake, 3, method="phone",
                     note="已电话告知顾客不予受理的原因 / told the customer by phone")
            return
        step(Action.ACCEPT, intake, rnd.randint(1, 20))
        if target == Status.ACCEPTED:
            return
        dept = db.session.scalar(select(Department).filter_by(code=dept_code))
        head = staff.get(heads[dept_code]) if heads[dept_code] else manager
        handler = staff.get(handlers[dept_code]) if handlers[dept_code] else None
        step(Action.FORWARD, intake, rnd.randint(1, 6), department_id=dept.id)
        if target == Status.FORWARDED:
            return
        if handler is None:
            return
        step(Action.ASSIGN, head, rnd.randint(1, 30), assignee_id=handler.id)
        if rnd.random() < 0.1:
            step(Action.ESCALATE, head, 3, reason="客户多次来电催促 / customer keeps calling")
        if rnd.random() < 0.3:
            step(Action.NOTE, handler, rnd.randint(2, 20),
                 note="已联系顾客，正在安排上门检测 / visit to test the unit arranged")
        if target == Status.IN_PROGRESS:
            return
        step(Action.RESOLVE, handler, rnd.randint(10, 150), root_cause="批次质量问题 / batch defect",
             responsibility=rnd.choice(["company", "third_party", "mixed", "customer"]),
             remedy=rnd.choice(["exchange", "repair", "compensation", "explanation"]),
             compensation_amount=str(rnd.choice([50, 100, 200, 88.5])),
             resolution="已为客户办理更换并致歉 / replaced and apologised")
        if target == Status.RESOLVED:
            return
        step(Action.REVIEW_APPROVE, intake, rnd.randint(1, 20))
        if target == Status.CALLBACK:
            return
        needed = db.session.get(Complaint, cid).callbacks_required
        for _ in range(needed):
            step(Action.CALLBACK, intake, rnd.randint(20, 40), method="phone", reached=True,
                 satisfaction=rnd.choice(["very_satisfied", "satisfied", "satisfied"]),
                 solved=True, notes="客户表示满意 / customer satisfied")
        step(Action.CLOSE, intake, 1)
    except RuleError:
        return  # a demo path the rules refuse (e.g. no handler in finance) ends where it is
