"""Demo data: a Chinese company's month — departments each with its head, one user per
role, ~300 complaints in every status told consistently from the customer's words to the
remedy (idempotent: a second run adds nothing)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select

from models import Category, Complaint, Department, SlaPolicy, Staff, db
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

# username, full name, role, department code (the usernames README lists)
USERS = [
    ("admin", "系统管理员", Role.ADMIN, "CS"),
    ("intake", "王小明", Role.INTAKE, "CS"),
    ("manager", "李娜", Role.MANAGER, "CS"),
    ("supervisor", "赵磊", Role.SUPERVISOR, "CS"),
    ("head_qa", "陈杰", Role.DEPT_HEAD, "QA"),
    ("handler_qa", "刘洋", Role.HANDLER, "QA"),
    ("head_log", "孙浩", Role.DEPT_HEAD, "LOG"),
    ("handler_log", "周斌", Role.HANDLER, "LOG"),
    ("head_sales", "吴芳", Role.DEPT_HEAD, "SALES"),
    ("handler_sales", "郑伟", Role.HANDLER, "SALES"),
    ("head_fin", "钱丽", Role.DEPT_HEAD, "FIN"),
    ("handler_fin", "冯雨", Role.HANDLER, "FIN"),
    ("head_hr", "何敏", Role.DEPT_HEAD, "HR"),
    ("executive", "林涛", Role.EXECUTIVE, "GMO"),
]

# Every department has an active head: the department heads above, the customer-service
# manager for customer service, the senior manager for the general manager's office (which
# takes no complaints: nobody there can be assigned one). 行政人事部's head handles its
# complaints (staff conduct) herself.
HEADS = {"CS": "manager", "QA": "head_qa", "LOG": "head_log", "SALES": "head_sales",
         "FIN": "head_fin", "HR": "head_hr", "GMO": "executive"}
HANDLERS = {"QA": "handler_qa", "LOG": "handler_log", "SALES": "handler_sales",
            "FIN": "handler_fin", "HR": "head_hr"}

# Where customer service forwards each category by default (issue 11: the forward form
# suggests it).
CATEGORY_DEPARTMENTS = {"product_quality": "QA", "delivery": "LOG", "packaging": "LOG",
                        "service": "SALES", "billing": "FIN"}


@dataclass(frozen=True)
class Case:
    """One kind of complaint as the company meets it, told consistently from the customer's
    words to the department's finding, remedy and amount and the callback.

    Compensation only where the company is responsible (``company`` or ``mixed``); a
    cause found with the customer or a third party is explained, exchanged or repaired.
    """

    kind: str
    category: str
    department: str
    title: str
    description: str
    demand: str
    progress: str  # the department's progress note
    root_cause: str
    responsibility: str
    remedy: str
    amount: str | None  # yuan, only with the compensation remedy
    resolution: str
    callback: str  # what the satisfied customer said on the callback
    severity: str = "normal"
    caused_by: str | None = None  # who caused it (an outside party, in words)


C, Q, S = "complaint", "consultation", "suggestion"

CASES = [
    Case(C, "product_quality", "QA", "冰箱使用一周后冷藏室不制冷",
         "客户反映新购双门冰箱使用一周后冷藏室温度降不下来，冷冻室正常。", "上门检修或更换新机",
         "已约客户周四上午上门检测。", "压缩机启动继电器批次不良", "company", "exchange", None,
         "已上门为客户更换同型号新机，旧机返厂检测。", "客户确认新机制冷正常，表示满意。"),
    Case(C, "product_quality", "QA", "电热水壶使用两天壶盖开裂",
         "客户反映电热水壶使用两天后壶盖铰链处开裂，无法正常闭合。", "退货退款",
         "已请客户拍照上传，并调取同批次留样。", "供应商提供的壶盖注塑件批次缺陷", "third_party",
         "return", None, "已为客户办理退货退款，并向供应商索赔。", "客户已收到退款，表示满意。"),
    Case(C, "product_quality", "QA", "洗衣机脱水时噪音大、机身晃动",
         "客户反映新洗衣机脱水时噪音很大，整机晃动明显。", "上门检查，必要时换机",
         "已电话了解安装情况，安排师傅上门。", "客户自行安装时未拆除运输固定螺栓", "customer",
         "explanation", None, "师傅上门拆除运输螺栓并调平机身，噪音消除，已向客户说明安装要求。",
         "客户表示洗衣机已运转正常。"),
    Case(C, "product_quality", "QA", "吹风机使用中冒烟，客户手部轻微烫伤",
         "客户反映吹风机使用约十分钟后出风口冒烟，手部被烫红。", "退货并赔偿医药费",
         "已收回故障吹风机送检。", "发热丝固定支架装配不到位", "company", "compensation", "500",
         "已为客户办理退货，并赔偿医药费及误工费共 500 元。", "客户已收到赔偿，表示满意。",
         "major"),
    Case(C, "product_quality", "QA", "空调外机漏水",
         "客户反映空调安装后外机持续滴水，楼下住户有意见。", "上门维修",
         "已安排安装师傅复查排水管。", "安装时排水管坡度不足，冷凝水倒流", "company", "repair",
         None, "已上门重新铺设排水管，漏水问题解决。", "客户确认不再漏水，表示满意。"),
    Case(Q, "product_quality", "QA", "咨询冰箱保修期限",
         "客户来电询问冰箱整机和压缩机的保修年限。", "了解保修政策",
         "已查询该型号的保修条款。", "客户不了解保修政策", "customer", "explanation", None,
         "已告知客户整机保修三年、压缩机保修十年，并寄送保修卡说明。", "客户表示已了解。"),
    Case(C, "delivery", "LOG", "订单发货延迟五天",
         "客户下单后五天仍显示待发货，多次催问无果。", "尽快发货并补偿运费",
         "已核查仓库出库记录。", "仓库漏拣货，订单延迟出库", "company", "compensation", "20",
         "已加急发货，次日送达，并退还运费 20 元。", "客户已收到商品和运费退款，表示满意。"),
    Case(C, "delivery", "LOG", "快递员未经同意将包裹放在门口，包裹丢失",
         "客户反映快递员未电话联系就把包裹放在门口，回家后包裹不见了。", "补发商品",
         "已联系承运商调取派送记录。", "承运商快递员未按约定送货上门", "third_party", "exchange",
         None, "已为客户补发商品，并向承运商索赔。", "客户已收到补发的商品，表示满意。"),
    Case(C, "delivery", "LOG", "大件家具送货未上楼",
         "客户反映配送员拒绝把衣柜搬上楼，要求另付搬运费。", "按约定送货上楼并道歉",
         "已联系配送站站长了解情况。", "配送员不了解“送货上楼”的服务约定", "company",
         "explanation", None, "已向客户道歉并重新安排送货上楼，配送员已接受培训。",
         "客户表示衣柜已送到家，满意。"),
    Case(S, "delivery", "LOG", "建议增加晚间送货时段",
         "客户建议增加晚上送货时段，白天上班无法收货。", "增加晚间送货",
         "已与配送站评估晚间配送的人手。", "现有配送时段只到 18 点，上班族不便收货", "company",
         "explanation", None, "已采纳建议，下月起试点 18 点至 21 点晚间配送，并告知客户。",
         "客户对采纳建议表示感谢。"),
    Case(C, "packaging", "LOG", "包装破损导致电视机边框划伤",
         "客户收货时外箱破损，电视机边框有明显划痕。", "换新",
         "已请客户保留外箱并拍照。", "外包装缓冲材料不足，运输中受挤压", "company", "exchange",
         None, "已为客户换新，并改进该型号的包装方案。", "客户确认新电视完好，表示满意。"),
    Case(C, "service", "SALES", "门店店员态度恶劣",
         "客户在门店咨询时店员不耐烦，语气生硬。", "要求道歉",
         "已调取门店监控并与当班店员谈话。", "店员服务规范培训不到位", "company", "explanation",
         None, "门店店长已当面向客户致歉，涉事店员停岗培训。", "客户接受道歉，表示满意。",
         caused_by="朝阳门店当班店员"),
    Case(C, "service", "SALES", "促销承诺的赠品未兑现",
         "客户购买冰箱时销售承诺赠送电饭煲，收货时没有赠品。", "补发赠品",
         "已核对活动规则和销售记录。", "销售人员口头承诺超出活动规则", "company", "compensation",
         "199", "赠品已无库存，按赠品价值补偿客户 199 元，并对销售人员进行提醒。",
         "客户已收到补偿，表示满意。"),
    Case(C, "other", "SALES", "会员积分未到账",
         "客户上月消费的积分至今未到账。", "补发积分",
         "已提交会员系统的积分核查。", "会员系统与收银系统的数据同步失败", "company", "other",
         None, "已为客户手工补录积分 1280 分。", "客户确认积分已到账，表示满意。"),
    Case(C, "service", "SALES", "降价后申请价格保护被拒",
         "客户购买一周后商品降价，申请价格保护被拒绝。", "退还差价",
         "已核对该商品的价保规则。", "客户购买的是清仓特价商品，不在价格保护范围内",
         "customer", "explanation", None, "已向客户解释价格保护规则，客户表示理解。",
         "客户表示理解，无其他诉求。"),
    Case(C, "billing", "FIN", "电子发票抬头开错",
         "客户收到的电子发票抬头与申请时填写的不一致。", "重新开具发票",
         "已调取开票申请记录。", "开票员录入抬头时输错一字", "company", "other", None,
         "已作废原发票并重新开具，发送至客户邮箱。", "客户确认已收到正确的发票。"),
    Case(C, "billing", "FIN", "同一订单被重复扣款",
         "客户银行卡账单显示同一订单扣款两次。", "退还重复扣款",
         "已向支付机构查询交易流水。", "支付机构网关超时重试导致重复扣款", "third_party", "other",
         None, "已原路退还重复扣款 2399 元。", "客户确认退款已到账，表示满意。"),
    Case(C, "billing", "FIN", "退货签收十天退款仍未到账",
         "客户退货已被仓库签收十天，退款仍未到账。", "尽快退款",
         "已核查退款审核队列。", "财务退款审核积压，未按时处理", "company", "compensation", "30",
         "已完成退款，并因延迟补偿客户 30 元。", "客户已收到退款和补偿，表示满意。"),
    Case(C, "service", "HR", "上门安装人员索要好处费",
         "客户反映安装师傅以“加急”为由索要 100 元现金。", "退还款项并处理当事人",
         "已约谈当事安装人员并核实经过。", "安装人员违反服务纪律", "company", "compensation",
         "100", "已退还客户 100 元，当事人按公司制度处理。", "客户对处理结果表示满意。", "major",
         caused_by="外包安装队安装人员"),
    Case(C, "service", "HR", "售后人员上门未穿工装、未出示工牌",
         "客户反映上门维修人员未穿工装也不出示工牌，担心安全。", "规范上门服务",
         "已核对当天的派工记录。", "外包服务人员入职培训缺失", "mixed", "explanation", None,
         "已向客户致歉，并组织外包服务人员重新培训上门规范。", "客户表示理解。"),
]

REJECT_REASONS = [
    "经核实，该商品非本公司销售，不予受理。",
    "客户来电表示问题已自行解决，撤回投诉。",
    "同一问题已在前一单中处理，重复登记。",
]
REPLY_NOTE = "已电话告知客户不予受理的原因，客户表示知悉。"
ESCALATE_REASONS = ["客户多次来电催促，情绪激动。", "客户要求客服经理出面处理。",
                    "客户表示将向媒体反映，报公司领导。"]
NO_ANSWER = "电话无人接听，稍后再联系。"
AVERAGE_NOTE = "客户认为问题已解决，但处理时间偏长，满意度一般。"
EXTENSION_REASONS = {  # why a department asks for more time (complaints only)
    "QA": "需等待供应商的检测报告。",
    "LOG": "需与承运商核对责任，资料尚未返回。",
    "SALES": "需调取门店监控并约谈当事店员。",
    "FIN": "需等待支付机构回复交易核查结果。",
    "HR": "需等待外包公司提交当事人的情况说明。",
}

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"

# How the ~300 complaints spread over the workflow (final status → share).
SPREAD = [
    (Status.REGISTERED, 30), (Status.ACCEPTED, 20), (Status.REJECTED, 25),
    (Status.FORWARDED, 35), (Status.IN_PROGRESS, 60), (Status.RESOLVED, 25),
    (Status.CALLBACK, 30), (Status.CLOSED, 85),
]


# How long ago complaints that stop at each status came in (hours): customer service
# accepts within the day and forwards within two; finished ones spread over six weeks.
AGE_HOURS = {Status.REGISTERED: (0, 30), Status.ACCEPTED: (4, 40), Status.REJECTED: (0, 48),
             Status.CLOSED: (5 * 24, 40 * 24)}


def _ensure_org():
    with write_transaction(db.session):
        for code, name, is_cs in DEPARTMENTS:
            if not db.session.scalar(select(Department).filter_by(code=code)):
                db.session.add(Department(code=code, name=name, active=True,
                                          is_customer_service=is_cs))
    depts = {d.code: d for d in db.session.scalars(select(Department))}
    for username, full_name, role, dept in USERS:
        if not db.session.scalar(select(Staff).filter_by(username=username)):
            # example.com addresses (RFC 2606): mail pointed at a real server reaches no one.
            create_user(username, full_name, role, DEMO_PASSWORD, department_id=depts[dept].id,
                        email=f"{username}@example.com")
    with write_transaction(db.session):
        for code, username in HEADS.items():
            department = db.session.get(Department, depts[code].id)
            if department.head_id is None:
                head = db.session.scalar(select(Staff).filter_by(username=username))
                department.head_id = head.id
        for category in db.session.scalars(select(Category)):
            code = CATEGORY_DEPARTMENTS.get(category.code)
            if code and category.default_department_id is None:
                category.default_department_id = depts[code].id
        # The policies the schema seeds carry English names; the demo company's are Chinese.
        for policy in db.session.scalars(select(SlaPolicy)):
            policy.name = POLICY_NAMES.get(policy.name, policy.name)
        # 处理方案: a critical complaint's plan is approved (the head, then senior
        # management) and agreed by the customer before it is carried out; so is any
        # compensation above ¥2,000.
        for name, category, callbacks in PLAN_POLICIES:
            if not db.session.scalar(select(SlaPolicy).filter_by(name=name)):
                db.session.add(SlaPolicy(name=name, kind="complaint", category_code=category,
                                         severity="critical", callbacks_required=callbacks,
                                         plan_required=True, active=True))
        for policy in db.session.scalars(select(SlaPolicy).filter_by(severity=None)):
            if policy.plan_over_amount is None:
                policy.plan_over_amount = PLAN_OVER_AMOUNT
    return depts


POLICY_NAMES = {"Default": "默认时限", "Product-quality complaints": "产品质量投诉时限"}
# (name, category, callbacks): the general one, and the product-quality one (as specific
# as the seeded product-quality policy, which would otherwise win for those).
PLAN_POLICIES = (("重大投诉（须审批处理方案）", None, 1),
                 ("重大产品质量投诉（须审批处理方案）", "product_quality", 2))
PLAN_OVER_AMOUNT = 2000

# Where it happened (地点), and what the complaint is about (投诉对象) by category.
LOCATIONS = ["北京朝阳大悦城门店", "上海徐家汇门店", "广州天河城门店", "深圳南山门店",
             "杭州西湖银泰门店", "客户家中", "官方网店", "成都春熙路门店"]
TARGETS = {"product_quality": "product", "packaging": "product", "service": "person",
           "delivery": "other", "billing": "other", "other": "other"}
# Sent down by the city's 12345 hotline (R45), every tenth hotline complaint.
UPSTREAM_NOTE = "已电话向12345热线平台反馈办理结果，并在平台系统填报。"
PLAN_TEXT = ("一、上门检测并留存故障件；二、确认为产品质量问题的，为客户更换新机并按规定补偿；"
             "三、同批次产品排查，结果报质量管理部。")
ASSIST_TASK = "核查该批次产品的运输与仓储记录，确认是否存在运输损坏。"
ASSIST_REPORT = "已核查运输与仓储记录，该批次运输途中无异常，仓储温湿度正常。"


def load_demo(count: int = 300, seed: int = 20261123) -> str:
    _ensure_org()
    existing = db.session.scalar(select(func.count()).select_from(Complaint))
    if existing:
        return f"Demo data already present ({existing} complaints); nothing added."
    rnd = random.Random(seed)
    staff = {s.username: s for s in db.session.scalars(select(Staff))}
    cats = {c.code: c.id for c in db.session.scalars(select(Category))}
    depts = {d.code: d.id for d in db.session.scalars(select(Department))}
    today = clock.now()
    targets = [status for status, n in SPREAD for _ in range(n)]
    rnd.shuffle(targets)
    for n, target in enumerate(targets[:count]):
        case = CASES[n % len(CASES)]
        # Finished complaints spread over the last weeks; open ones are recent, as in a
        # desk that keeps up (a few of them are overdue).
        start = today - timedelta(hours=rnd.randint(*AGE_HOURS.get(target, (0, 9 * 24))))
        severity = "critical" if n % 29 == 0 and case.kind == "complaint" else case.severity
        channel = rnd.choice(["phone", "hotline", "hotline", "email", "web", "social",
                              "walk_in", "letter"])
        upstream = {}
        if channel == "hotline" and n % 10 == 0:
            upstream = {"upstream_source": "hotline_12345",
                        "upstream_ref": f"12345-{start:%Y%m%d}-{n:04d}",
                        "upstream_due": start + timedelta(days=5)}
        c = register({
            "location": rnd.choice(LOCATIONS),
            "target_kind": TARGETS.get(case.category, "other"),
            "target_text": case.title[:20],
            **upstream,
            "customer_name": rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
            "customer_phone": (f"1{rnd.choice('3589')}{rnd.randint(0, 9)}"
                               f"{rnd.randint(10000000, 99999999)}"),
            "customer_email": f"customer{n}@example.com" if n % 3 == 0 else "",
            "customer_class": rnd.choice("AABBBCCCCD"),
            "kind": case.kind,
            "channel": channel,
            "severity": severity,
            "category_id": cats[case.category],
            "title": case.title,
            "description": case.description,
            "demand": case.demand,
            "received_at": start,
        }, staff["intake"], now=start)
        _walk(c.id, target, case, depts[case.department], staff, start, rnd, today)
    _corrective_actions(staff, cats, depts, today)
    _channel_owners(staff)
    from .sweep import sweep

    marked = sweep(today).marked
    return (f"Demo data loaded: {len(DEPARTMENTS)} departments, {len(USERS)} users "
            f"(password {DEMO_PASSWORD!r}), {count} complaints; {marked} marked overdue.")


def _walk(cid, target, case: Case, dept_id, staff, t, rnd, today):
    """Move one complaint along the workflow to its target status, as people would."""
    intake, manager = staff["intake"], staff["manager"]
    head = staff[HEADS[case.department]]
    handler = staff[HANDLERS[case.department]]

    def step(action, actor, hours, **inputs):
        nonlocal t
        t = min(t + timedelta(hours=hours), today)  # nothing happens in the future
        perform(cid, action, actor, inputs, now=t)

    try:
        if target == Status.REGISTERED:
            return
        if target == Status.REJECTED:
            step(Action.REJECT, intake, 2, reason=rnd.choice(REJECT_REASONS))
            if rnd.random() < 0.5:  # the customer was told why: closed as invalid
                step(Action.REPLY, intake, 3, method="phone", note=REPLY_NOTE)
            return
        step(Action.ACCEPT, intake, rnd.randint(1, 20))
        if target == Status.ACCEPTED:
            return
        step(Action.FORWARD, intake, rnd.randint(1, 6), department_id=dept_id)
        if target == Status.FORWARDED:
            if case.kind == "complaint" and rnd.random() < 0.15:
                _extend(step, cid, head, case, rnd)  # more time asked before assigning
            return
        step(Action.ASSIGN, head, rnd.randint(1, 30), assignee_id=handler.id)
        roll = rnd.random()
        if roll < 0.12:  # escalated: to the head, then the manager, a few to senior management
            step(Action.ESCALATE, head, 3, reason=ESCALATE_REASONS[0])
            if roll < 0.06:
                step(Action.ESCALATE, intake, 3, reason=ESCALATE_REASONS[1])
            if roll < 0.02:
                step(Action.ESCALATE, manager, 3, reason=ESCALATE_REASONS[2])
        if rnd.random() < 0.5:
            step(Action.NOTE, handler, rnd.randint(2, 20), note=case.progress)
        critical = db.session.get(Complaint, cid).severity == "critical"
        if critical and target != Status.FORWARDED:
            # 协办: logistics checks the transport of a critical product complaint.
            if case.department == "QA":
                _assist(step, cid, head, staff, done=target != Status.IN_PROGRESS)
            # 处理方案: submitted, approved by the head and senior management, agreed.
            stages = (3 if target != Status.IN_PROGRESS else rnd.randint(0, 3))
            _plan(step, handler, head, staff, stages)
        if target == Status.IN_PROGRESS:
            roll = rnd.random()
            if case.kind == "complaint" and roll < 0.25:
                # the handler asks for more time; the head decides some at once
                _extend(step, cid, handler, case, rnd)
                if roll < 0.1 and handler.id != head.id:
                    step(Action.EXTEND_DECIDE, head, 4, approve=True, note="同意延期。")
            return
        caused = {"caused_by_text": case.caused_by} if case.caused_by else {}
        step(Action.RESOLVE, handler, rnd.randint(10, 150), root_cause=case.root_cause,
             responsibility=case.responsibility, remedy=case.remedy,
             compensation_amount=case.amount, resolution=case.resolution, **caused)
        if target == Status.RESOLVED:
            return
        step(Action.REVIEW_APPROVE, intake, rnd.randint(1, 20))
        if rnd.random() < 0.2:  # no answer at the first try
            step(Action.CALLBACK, intake, rnd.randint(4, 20), method="phone", reached=False,
                 notes=NO_ANSWER)
        if rnd.random() < 0.2:  # only moderately satisfied: another callback later
            step(Action.CALLBACK, intake, rnd.randint(4, 20), method="phone", reached=True,
                 satisfaction="average", solved=True, notes=AVERAGE_NOTE)
        if target == Status.CALLBACK:
            return
        needed = db.session.get(Complaint, cid).callbacks_required
        for _ in range(needed):
            step(Action.CALLBACK, intake, rnd.randint(20, 40), method="phone", reached=True,
                 satisfaction=rnd.choice(["very_satisfied", "satisfied", "satisfied"]),
                 solved=True, notes=case.callback)
        step(Action.CLOSE, intake, 1)
        if db.session.get(Complaint, cid).upstream_ref:  # R45: the result reported back
            step(Action.REPORT_UPSTREAM, intake, 2, method="phone", note=UPSTREAM_NOTE)
    except RuleError:
        return  # a demo path the rules refuse ends where it is


# R2: who answers for each channel (Settings); named after the demo's complaints are in, so
# that only what comes in from now on tells them.
CHANNEL_OWNERS = {"web": "intake", "email": "intake", "hotline": "manager",
                  "social": "supervisor"}


def _channel_owners(staff):
    from .channel_owners import set_owner

    for channel, username in CHANNEL_OWNERS.items():
        set_owner(channel, str(staff[username].id), staff["admin"])


def _plan(step, handler, head, staff, stages: int):
    """The plan submitted, then ``stages`` of: the head's approval, senior management's,
    the customer's agreement."""
    step(Action.PLAN_SUBMIT, handler, 4, plan=PLAN_TEXT)
    actors = [(Action.PLAN_APPROVE, head, {"note": "同意该方案。"}),
              (Action.PLAN_APPROVE, staff["executive"], {"note": "同意，请尽快落实并跟进。"}),
              (Action.PLAN_ANSWER, staff["intake"], {"agreed": True,
                                                     "note": "客户电话确认同意处理方案。"})]
    for action, actor, inputs in actors[:stages]:
        step(action, actor, 3, **inputs)


def _assist(step, cid, head, staff, *, done: bool):
    """The quality head asks logistics to check the transport; logistics reports it."""
    from . import assist

    logistics = db.session.scalar(select(Department.id).filter_by(code="LOG"))
    step(Action.ASSIST_ADD, head, 2, department_id=logistics, task=ASSIST_TASK)
    if done:
        complaint = db.session.get(Complaint, cid)
        part = assist.parts_of(cid)[-1]
        assist.report(cid, part.id, staff["head_log"], ASSIST_REPORT,
                      now=min(complaint.updated_at + timedelta(hours=20), clock.now()))


CORRECTIVE = [
    # (category, owner department, owner, complaint title, kind, problem, cause, action,
    #  due in days, how far it got: open / done / effective)
    ("product_quality", "QA", "head_qa", "吹风机使用中冒烟，客户手部轻微烫伤", "corrective",
     "吹风机使用中过热冒烟，造成客户轻微烫伤。", "温控保险丝选型余量不足，供应商来料未全检。",
     "更换温控保险丝型号；对供应商来料实行全检三个月；召回同批次在库产品复检。", 20, "open"),
    ("packaging", "LOG", "head_log", "包装破损导致电视机边框划伤", "corrective",
     "大屏电视运输中包装破损、边框划伤。", "缓冲泡沫厚度不足，承运商搬运不规范。",
     "缓冲泡沫加厚至5厘米；与承运商签订搬运规范并抽查。", 10, "done"),
    ("service", "SALES", "head_sales", "门店店员态度恶劣", "preventive",
     "门店店员服务态度问题重复发生。", "新员工未经服务规范培训即上岗。",
     "新员工上岗前完成服务规范培训并考核；每月门店服务抽查。", 15, "effective"),
]


def _corrective_actions(staff, cats, depts, today):
    """Three corrective actions at three stages, each linked to the complaints it answers."""
    from . import capa

    for (category, dept, owner, title, kind, problem, cause, action, days,
         stage) in CORRECTIVE:
        numbers = list(db.session.scalars(
            select(Complaint.number).filter_by(title=title).order_by(Complaint.id).limit(3)))
        created_at = today - timedelta(days=12)
        try:
            row = capa.create({"kind": kind, "problem": problem, "cause": cause,
                               "action": action, "owner_department_id": depts[dept],
                               "owner_id": staff[owner].id, "category_id": cats[category],
                               "due_date": (today + timedelta(days=days)).date(),
                               "complaint_numbers": " ".join(numbers)},
                              staff["manager"], now=created_at)
            if stage in ("done", "effective"):
                row = capa.take_step(row.id, "done", {"note": "已按措施落实完毕。"},
                                     staff[owner], row.version,
                                     now=created_at + timedelta(days=5))
            if stage == "effective":
                capa.take_step(row.id, "check", {"effective": True,
                                                 "effect_check": "近一月同类投诉为零，措施有效。"},
                               staff["manager"], row.version, now=created_at + timedelta(days=10))
        except RuleError:
            continue  # a demo step the rules refuse ends where it is


def _extend(step, cid, who, case: Case, rnd):
    """Ask for five more days than the current resolve deadline."""
    due = db.session.get(Complaint, cid).resolve_due
    step(Action.EXTEND_REQUEST, who, rnd.randint(2, 12),
         reason=EXTENSION_REASONS[case.department],
         new_due=due + timedelta(days=5))
