"""services.search / search_index: the full-text index follows every write, in the same
transaction, and finds complaints by number tail, phone tail, name part and Chinese words."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text

from models import Complaint, db
from models.engine import write_transaction
from rules import Action, Actor, Role
from rules import search as rules_search
from services import clock, edits, queries, retention
from services import search as search_service
from services.search_index import TABLE, rebuild, segment
from tests.factories import RESOLUTION, T1

T = datetime(2026, 11, 30, 9, 0)


def found(text_, actor=None):
    clause = search_service.search_clause(text_)
    stmt = select(Complaint.number).where(clause)
    if actor is not None:
        stmt = stmt.where(queries.scope_clause(actor))
    return sorted(db.session.scalars(stmt.order_by(Complaint.id)))


def index_count():
    return db.session.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar()


@pytest.fixture
def kettle(desk):
    cid = desk.register(now=T, customer_name="张三丰", customer_phone="+86 138-1234-5678",
                        customer_email="Zhang.SF@example.com", title="电水壶漏电",
                        description="用了三天，电水壶底座漏电，手碰到外壳有麻感",
                        demand="要求退货并赔偿")
    other = desk.register(now=T, customer_name="李四", customer_phone="13900001111",
                          title="冰箱不制冷", description="冷藏室温度高")
    db.session.commit()
    return db.session.get(Complaint, cid).number, db.session.get(Complaint, other).number


@pytest.mark.parametrize("term", [
    "0001", "20261130-0001", "TS-20261130-0001", "5678", "12345678", "13812345678",
    "+86 138-1234-5678", "三丰", "张三丰", "张", "漏电", "电水壶", "退货", "麻感", "电水壶 漏电",
    "zhang.sf@example.com", "张三 5678", "漏电 0001",
])
def test_register_indexes_every_kind_of_fragment(kettle, term):
    number = kettle[0]
    assert number.endswith("-0001")
    assert found(term) == [number]


@pytest.mark.parametrize("term", ["1234567", "0003", "漏水", "王", "三丰 冰箱", "张三 0002",
                                  "%", "''", "_",
                                  "12", "x@example.com"])
def test_what_is_not_there_is_not_found(kettle, term):
    assert found(term) == []


def test_edit_and_resolve_keep_the_index_in_step(desk, kettle):
    number = kettle[0]
    cid = db.session.scalar(select(Complaint.id).filter_by(number=number))
    version = desk.row(cid)["version"]
    edits.edit(cid, {"title": "电热水器漏水", "customer_phone": "13700007777"},
               desk.staff("intake"), expected_version=version, reason="typo", now=T1)
    db.session.commit()
    assert found("电热水器") == [number] and found("7777") == [number]
    assert found("5678") == []  # the old phone is gone from the index
    assert found("麻感") == [number]  # the description did not change
    for action, by, inputs in ((Action.ACCEPT, "intake", {}),
                               (Action.FORWARD, "intake", {"department_id": "@qa"}),
                               (Action.ASSIGN, "head_qa", {"assignee_id": "@handler_qa"}),
                               (Action.RESOLVE, "handler_qa",
                                {**RESOLUTION, "resolution": "已更换新的电热水器并致歉"})):
        desk.act(cid, action, by, T1, **inputs)
    db.session.commit()
    assert found("致歉") == [number]


def test_a_rolled_back_registration_leaves_no_index_row(desk, kettle):
    before = index_count()
    with pytest.raises(RuntimeError):
        with write_transaction(db.session):
            desk.register(now=T, title="洗衣机噪音", customer_name="王五")
            raise RuntimeError("boom")
    assert index_count() == before
    assert found("洗衣机") == []


def test_rebuild_gives_the_same_index(desk, kettle):
    before = db.session.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar()
    with write_transaction(db.session):
        db.session.execute(text(f"DELETE FROM {TABLE}"))
    assert found("漏电") == []
    with write_transaction(db.session):
        assert rebuild(db.session.connection(), batch=1) == 2
    assert index_count() == before == 2
    assert found("漏电") == [kettle[0]] and found("冰箱") == [kettle[1]]


def test_search_stays_in_scope(desk, kettle):
    """A handler sees only what is assigned to them: the index finds, the scope filters."""
    handler = Actor(id=desk.org.users["handler_qa"], role=Role.HANDLER,
                    department_id=desk.org.qa)
    assert found("漏电", handler) == []
    manager = Actor(id=desk.org.users["manager"], role=Role.MANAGER, department_id=None)
    assert found("漏电", manager) == [kettle[0]]


def test_anonymised_complaints_leave_the_index(app, desk, monkeypatch):
    """Retention's set-based anonymisation rewrites the index rows in its transaction."""
    old = datetime(2022, 1, 10, 9, 0)
    cid = desk.bring_to("closed", now=old, customer_name="欧阳锋", customer_phone="13955550005",
                        description="欧阳先生说电饭煲跳闸")
    db.session.commit()
    assert found("欧阳") and found("0005") and found("跳闸")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 12, 1, 10, 0))
    assert retention.run(apply=True).complaints == 1
    number = db.session.get(Complaint, cid).number
    assert found("欧阳") == [] and found("跳闸") == [] and found("13955550005") == []
    assert found(number[-13:]) == [number]  # still found by its number


# --- recall on a small labelled set: jieba alone, jieba + bigrams ------------------------

LABELLED = [
    ("电水壶漏电，外壳发烫", ["电水壶", "漏电", "水壶", "发烫", "外壳"]),
    ("空调制冷效果差，噪音大", ["空调", "制冷", "噪音", "效果"]),
    ("快递员态度恶劣，包裹破损", ["快递", "态度", "恶劣", "破损", "包裹"]),
    ("冰箱冷藏室结冰", ["冰箱", "冷藏", "结冰", "冷藏室"]),
    ("洗衣机脱水时剧烈晃动", ["洗衣机", "脱水", "晃动", "剧烈"]),
    ("电饭煲内胆涂层脱落", ["电饭煲", "内胆", "涂层", "脱落"]),
    ("售后维修师傅迟到两小时", ["售后", "维修", "师傅", "迟到", "小时"]),
    ("热水器出水忽冷忽热", ["热水器", "出水", "忽冷忽热", "冷忽"]),
    ("微波炉门关不严有漏光", ["微波炉", "漏光", "关不严"]),
    ("充电宝充不进电鼓包", ["充电宝", "鼓包", "充不进"]),
]


def _matches(node, terms):
    if isinstance(node, rules_search.Term):
        return node.token in terms
    if isinstance(node, rules_search.Prefix):
        return any(t.startswith(node.token) for t in terms)
    results = (_matches(item, terms) for item in node.items)
    return all(results) if isinstance(node, rules_search.All) else any(results)


def recall(with_bigrams: bool) -> float:
    hits = total = 0
    for sentence, queries_ in LABELLED:
        terms = set(rules_search.doc_terms(number=None, name=None, phone_norm=None, email=None,
                                           texts=[sentence], segment=segment,
                                           with_bigrams=with_bigrams))
        for q in queries_:
            total += 1
            parsed = rules_search.parse(q, segment, with_bigrams=with_bigrams)
            hits += _matches(parsed.match, terms)
    return hits / total


def test_recall_of_two_character_words_needs_the_bigrams(capsys):
    """Every word of the labelled set is found with bigrams; jieba alone misses some (its
    search segmentation does not emit every sub-word, e.g. 冷忽, 关不严, 充不进)."""
    with_bigrams, jieba_only = recall(True), recall(False)
    with capsys.disabled():
        print(f"\nrecall: jieba+bigrams {with_bigrams:.2f}, jieba alone {jieba_only:.2f}")
    assert with_bigrams == 1.0
    assert jieba_only < with_bigrams


def test_fts_strings_render_the_tree():
    q = rules_search.parse("三丰 0010", lambda s: [s])
    assert search_service.fts5_match(q.match).startswith('(("n_三丰" OR "三丰") AND (')
    assert "'n_三丰'" in search_service.tsquery(q.match)
    tail = rules_search.parse("0010").match
    assert search_service.tsquery(tail) == "('t_0100':* | 'p_0100':*)"


def test_flask_reindex_rebuilds_the_index(app, desk, kettle):
    with write_transaction(db.session):
        db.session.execute(text(f"DELETE FROM {TABLE}"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["reindex", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 complaints" in result.output
    db.session.rollback()
    assert index_count() == 2 and found("三丰") == [kettle[0]]


def _spoil_index(kettle_id):
    """A stale row (wrong terms) and, on SQLite, a row of no complaint."""
    with write_transaction(db.session):
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text(f"UPDATE {TABLE} SET terms = 'w_stale'::tsvector "
                                    "WHERE complaint_id = :id"), {"id": kettle_id})
        else:
            db.session.execute(text(f"UPDATE {TABLE} SET terms = 'w_stale' WHERE rowid = :id"),
                               {"id": kettle_id})
            db.session.execute(text(f"INSERT INTO {TABLE} (rowid, terms) VALUES (999, 'w_漏电')"))
    db.session.commit()


def test_flask_reindex_replaces_batch_by_batch(app, desk, kettle):
    kettle_id = db.session.scalar(select(Complaint.id).where(Complaint.number == kettle[0]))
    _spoil_index(kettle_id)
    assert found("漏电") == []
    result = app.test_cli_runner().invoke(args=["reindex", "--batch", "1"])
    assert result.exit_code == 0, result.output
    assert "Indexing 2 complaints, 1 per batch" in result.output
    assert "1/2 (50%) indexed" in result.output and "2/2 (100%) indexed" in result.output
    assert "Indexed 2 complaints" in result.output
    db.session.rollback()
    assert index_count() == 2  # the row of no complaint is gone
    assert found("漏电") == [kettle[0]] and found("冰箱") == [kettle[1]]


def test_flask_reindex_commits_each_batch(app, desk, kettle, monkeypatch):
    """Interrupted after its first batch, the reindex keeps that batch (it committed)."""
    from services import search_index

    kettle_id = db.session.scalar(select(Complaint.id).where(Complaint.number == kettle[0]))
    _spoil_index(kettle_id)
    real, calls = search_index.rebuild_batch, []

    def second_fails(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(search_index, "rebuild_batch", second_fails)
    result = app.test_cli_runner().invoke(args=["reindex", "--batch", "1"])
    assert result.exit_code != 0 and calls == [0, kettle_id]
    db.session.rollback()
    assert found("漏电") == [kettle[0]]  # the first batch (the kettle) is in for good
    assert found("冰箱") == [kettle[1]]  # the second still has its old row


def test_rebuild_in_one_transaction_replaces_stale_rows(desk, kettle):
    kettle_id = db.session.scalar(select(Complaint.id).where(Complaint.number == kettle[0]))
    _spoil_index(kettle_id)
    with write_transaction(db.session):
        assert rebuild(db.session.connection(), batch=5000) == 2
    assert index_count() == 2 and found("漏电") == [kettle[0]]


def test_many_hits_turn_sorting_off_for_the_list_statement_only(desk, kettle, monkeypatch):
    """PostgreSQL: past WALK hits the planner is told to walk the list's order index (its
    estimate of several words' hits is far too low), and sorting is on again after."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite walks its order index through the clause's shape")
    setting = text("SELECT current_setting('enable_sort')")
    search_service.search_clause("漏电")  # one hit
    assert db.session.scalar(setting) == "on"
    monkeypatch.setattr(search_service, "DENSE", 0)
    monkeypatch.setattr(search_service, "WALK", 0)
    clause = search_service.search_clause("漏电")
    assert db.session.scalar(setting) == "off"
    assert db.session.scalars(select(Complaint.number).where(clause)
                              .order_by(Complaint.received_at.desc())).all() == [kettle[0]]
    search_service.sorting_back_on()
    assert db.session.scalar(setting) == "on"
    search_service.sorting_back_on()  # once is enough: nothing more is sent
    db.session.rollback()
