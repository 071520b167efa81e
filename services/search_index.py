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
autogenerate. ``flask reindex`` (:func:`reindex`) builds the whole index again, a
transaction per batch of complaints; the migration, in its own transaction (:func:`rebuild`).
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


BATCH = 5000  # complaints per batch of a rebuild: a few MiB of rows and terms at a time


def rebuild_batch(conn, after: int = 0, batch: int = BATCH, *, replace: bool = True):
    """Index the next ``batch`` complaints after id ``after`` (in id order): returns
    ``(count, last id)``, or ``(0, None)`` when none is left.

    ``replace``: the index rows of the batch's id range are replaced (rows of complaints
    gone from it dropped; beyond the last complaint too, on the last call), so that a
    search during a rebuild committed batch by batch finds every complaint, by its old or
    its new terms. ``replace=False`` only inserts: an empty index, built the fastest way.
    On PostgreSQL the batch's complaints are read FOR SHARE: a concurrent edit of one waits
    for the batch's commit and then writes its own terms, never overwritten by older ones
    (SQLite has one writer at a time: the batch is atomic anyway).
    """
    lock = " FOR SHARE" if conn.dialect.name == "postgresql" else ""
    key = "complaint_id" if conn.dialect.name == "postgresql" else "rowid"
    rows = conn.execute(text(f"SELECT {_COLUMNS} FROM complaint WHERE id > :after "
                             f"ORDER BY id LIMIT {max(1, int(batch))}{lock}"),
                        {"after": after}).all()
    if not rows:
        if replace:
            conn.execute(text(f"DELETE FROM {TABLE} WHERE {key} > :after"), {"after": after})
        return 0, None
    last = rows[-1].id
    terms = [{"id": r.id, "terms": terms_of(r)} for r in rows]
    if replace:
        conn.execute(text(f"DELETE FROM {TABLE} WHERE {key} > :after AND {key} <= :last"),
                     {"after": after, "last": last})
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"INSERT INTO {TABLE} (complaint_id, terms) "
                          "VALUES (:id, CAST(:terms AS tsvector))"), terms)
    else:
        conn.execute(text(f"INSERT INTO {TABLE} (rowid, terms) VALUES (:id, :terms)"), terms)
    return len(rows), last


def is_empty(conn) -> bool:
    return conn.execute(text(f"SELECT 1 FROM {TABLE} LIMIT 1")).first() is None


def rebuild(conn, batch: int = BATCH, progress=None) -> int:
    """Build the whole index again on this connection, in its transaction, batch by batch
    (memory stays flat: ``batch`` rows at a time). The migration and tests use it; ``flask
    reindex`` runs :func:`rebuild_batch` in a transaction per batch instead."""
    replace = not is_empty(conn)
    done, last = 0, 0
    while True:
        count, last = rebuild_batch(conn, last, batch, replace=replace)
        if last is None:
            return done
        done += count
        if progress:
            progress(done)


def reindex(session, batch: int = BATCH, echo=None, progress=None) -> int:
    """``flask reindex``: :func:`rebuild_batch` in a write transaction per batch, then
    ANALYZE; ``echo`` gets a progress line per tenth done, ``progress(done, total)`` is
    called after every batch (the re-indexing job). Returns the complaints indexed."""
    import time

    from models.engine import write_transaction

    started = time.perf_counter()
    total = session.execute(text("SELECT count(*) FROM complaint")).scalar() or 0
    session.rollback()
    if echo:
        echo(f"Indexing {total} complaints, {batch} per batch…")
    done, last, step = 0, 0, 0
    while True:
        with write_transaction(session):
            count, last = rebuild_batch(session.connection(), last, batch)
        if last is None:
            break
        done += count
        if progress is not None:
            progress(done, total)
        if echo and total and done * 10 // total > step:
            step = done * 10 // total
            seconds = time.perf_counter() - started
            echo(f"  {done}/{total} ({min(100, done * 100 // total)}%) indexed in "
                 f"{seconds:.1f} s, {done / max(seconds, 1e-6):.0f}/s")
    with write_transaction(session):
        session.execute(text(f"ANALYZE {TABLE}"))  # fresh statistics for the planner
    return done


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


__all__ = ["BATCH", "TABLE", "install", "is_empty", "rebuild", "rebuild_batch", "refresh_ids",
           "reindex", "segment", "terms_of", "write_rows"]
