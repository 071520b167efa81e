"""The full-text index of complaints (``complaint_search``), kept in sync with them.

- SQLite: an FTS5 virtual table ``complaint_search(terms)``, rowid = complaint id;
- PostgreSQL: a table ``complaint_search(complaint_id PK → complaint, terms tsvector)``
  with a GIN index; terms are stored verbatim (``'…'::tsvector``: the 'simple' handling,
  no stemming, no stop words: they are segmented and lower-cased here already).

The terms are ``rules.search.doc_terms`` of the complaint, Chinese text segmented by jieba
(``cut_for_search``) at write time. Sync: a session ``after_flush`` hook rewrites the row
of every complaint inserted, or whose indexed fields changed, in the flush itself, i.e.
in the same transaction as the change and its audit event (register, edit, resolve,
merge…); the set-based anonymisation of ``services.retention`` calls :func:`refresh_ids`.
Both tables are maintained by SQL here, not mapped: migrations/env.py keeps them out of
autogenerate. ``flask reindex`` (:func:`rebuild`) builds the whole index again.
"""

from __future__ import annotations

import threading

from sqlalchemy import event, inspect, text
from sqlalchemy.orm import Session

from rules.search import doc_terms

TABLE = "complaint_search"
INDEXED = ("number", "customer_name", "customer_phone_norm", "customer_email", "title",
           "description", "demand", "resolution")
_COLUMNS = ", ".join(("id", *INDEXED))
_lock = threading.Lock()
_jieba = None


def segment(text: str):
    """jieba's search-engine segmentation, dictionary words only (loaded on first use)."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    # HMM off: no guessing of unknown words (the bigrams find those), ~40 % faster
    return _jieba.cut_for_search(text, HMM=False)


def terms_of(row) -> str:
    """The index terms of a complaint row (ORM object or Core row), space-separated."""
    return " ".join(doc_terms(
        number=row.number, name=row.customer_name, phone_norm=row.customer_phone_norm,
        email=row.customer_email, texts=(row.title, row.description, row.demand,
                                         row.resolution), segment=segment))


def write_rows(conn, rows) -> int:
    """Replace the index rows of these complaints ({"id", "terms"} dicts): one or two
    executemany statements whatever their number."""
    rows = list(rows)
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        conn.execute(text(
            f"INSERT INTO {TABLE} (complaint_id, terms) VALUES (:id, CAST(:terms AS tsvector)) "
            "ON CONFLICT (complaint_id) DO UPDATE SET terms = EXCLUDED.terms"), rows)
    else:
        conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :id"),
                     [{"id": r["id"]} for r in rows])
        conn.execute(text(f"INSERT INTO {TABLE} (rowid, terms) VALUES (:id, :terms)"), rows)
    return len(rows)


def refresh_ids(conn, ids) -> int:
    """Index these complaints again from what the database holds now (same transaction)."""
    ids = sorted(set(ids))
    done = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        found = conn.execute(text(f"SELECT {_COLUMNS} FROM complaint WHERE id IN ({marks})"),
                             {f"i{n}": v for n, v in enumerate(chunk)}).all()
        done += write_rows(conn, [{"id": r.id, "terms": terms_of(r)} for r in found])
    return done


def rebuild(conn, batch: int = 2000, progress=None) -> int:
    """Empty the index and build it again from every complaint, in id order."""
    conn.execute(text(f"DELETE FROM {TABLE}"))
    done, last = 0, 0
    while True:
        rows = conn.execute(text(f"SELECT {_COLUMNS} FROM complaint WHERE id > :last "
                                 f"ORDER BY id LIMIT {int(batch)}"), {"last": last}).all()
        if not rows:
            return done
        done += write_rows(conn, [{"id": r.id, "terms": terms_of(r)} for r in rows])
        last = rows[-1].id
        if progress:
            progress(done)


def _changed(obj) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in INDEXED)


def _after_flush(session, flush_context):
    from models import Complaint

    rows = [obj for obj in session.new if isinstance(obj, Complaint)]
    rows += [obj for obj in session.dirty if isinstance(obj, Complaint) and _changed(obj)]
    if rows:
        write_rows(session.connection(),
                   [{"id": obj.id, "terms": terms_of(obj)} for obj in rows if obj.id])


def install() -> None:
    """Keep the index in sync in every ORM flush (idempotent)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)


__all__ = ["TABLE", "install", "rebuild", "refresh_ids", "segment", "terms_of", "write_rows"]
