"""admin events, append-only records

Revision ID: e8a1d2c3b4f5
Revises: a7c3d1e2f4b5
Create Date: 2026-12-01 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8a1d2c3b4f5'
down_revision = 'a7c3d1e2f4b5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target_type', sa.String(length=30), nullable=True),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('target_label', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('ip', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_admin_event_actor_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_event'))
    )
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_event_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_event_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_event_actor_id'), ['actor_id'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        op.execute('DROP TRIGGER IF EXISTS complaint_event_no_update')
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)
    else:
        op.execute('DROP TRIGGER IF EXISTS complaint_event_append_only ON complaint_event')
        for statement in POSTGRES_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f'DROP TRIGGER IF EXISTS {name}')
        op.execute(SQLITE_OLD_EVENT_TRIGGER)
    else:
        for name, table in POSTGRES_TRIGGER_NAMES:
            op.execute(f'DROP TRIGGER IF EXISTS {name} ON {table}')
        op.execute('DROP FUNCTION IF EXISTS refuse_change_except_redaction()')
        op.execute(POSTGRES_OLD_EVENT_TRIGGER)
    with op.batch_alter_table('admin_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_event_actor_id'))
        batch_op.drop_index(batch_op.f('ix_admin_event_at'))
        batch_op.drop_index(batch_op.f('ix_admin_event_action'))
    op.drop_table('admin_event')


# --- append-only, enforced by the database ------------------------------------------------
#
# complaint_event, admin_event, export_log, callback_record, accountability_record and
# accountability_finding refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL); complaint
# refuses DELETE (and TRUNCATE), as before. On SQLite a BEFORE INSERT trigger on each of
# them refuses a row whose id already exists: INSERT OR REPLACE (a DELETE and an INSERT)
# then fails even on a connection without PRAGMA recursive_triggers, where the DELETE
# triggers would not fire.
#
# One exception, for the retention job (anonymising old personal data, never an edit): an
# UPDATE of complaint_event whose only change is setting note to '[anonymised]', and of
# callback_record whose only change is setting notes to '[anonymised]'. On SQLite the
# triggers compare every column by name: a migration adding a column to either table must
# recreate its *_no_update trigger (tests/test_db.py checks every column).

REDACTED = "[anonymised]"
APPEND_ONLY = ('complaint_event', 'admin_event', 'export_log', 'callback_record',
               'accountability_record', 'accountability_finding')
GUARDED = APPEND_ONLY + ('complaint',)  # no row replaced by INSERT OR REPLACE
EVENT_COLUMNS = ('id', 'complaint_id', 'at', 'actor_id', 'action', 'from_status', 'to_status',
                 'from_department_id', 'to_department_id', 'from_assignee_id',
                 'to_assignee_id', 'escalation_level', 'note')
CALLBACK_COLUMNS = ('id', 'complaint_id', 'staff_id', 'at', 'method', 'reached',
                    'satisfaction', 'solved', 'notes')


def _only_redaction(columns, redacted):
    """SQLite: the UPDATE sets ``redacted`` to the marker and changes no other column."""
    same = ' AND '.join(f'NEW.{c} IS OLD.{c}' for c in columns if c != redacted)
    return f"NEW.{redacted} IS '{REDACTED}' AND {same}"


SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER complaint_event_no_update BEFORE UPDATE ON complaint_event
        WHEN NOT ({_only_redaction(EVENT_COLUMNS, 'note')})
        BEGIN SELECT RAISE(ABORT, 'complaint_event is append-only: events cannot be changed'); END""",
    f"""CREATE TRIGGER callback_record_no_update BEFORE UPDATE ON callback_record
        WHEN NOT ({_only_redaction(CALLBACK_COLUMNS, 'notes')})
        BEGIN SELECT RAISE(ABORT, 'callback_record is append-only: callbacks cannot be changed'); END""",
] + [
    f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"""
    for table in ('admin_event', 'export_log')
    for verb in ('UPDATE', 'DELETE')
] + [
    f"""CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
        WHEN EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)
        BEGIN SELECT RAISE(ABORT, '{table}: a row is never replaced'); END"""
    for table in GUARDED
]
# Created here (complaint_event_no_update is recreated: dropped by the downgrade, then
# restored as the initial schema made it).
SQLITE_TRIGGER_NAMES = (
    ['complaint_event_no_update', 'callback_record_no_update']
    + [f'{table}_no_{verb}' for table in ('admin_event', 'export_log')
       for verb in ('update', 'delete')]
    + [f'{table}_no_replace' for table in GUARDED]
)
SQLITE_OLD_EVENT_TRIGGER = """CREATE TRIGGER complaint_event_no_update BEFORE UPDATE ON complaint_event
       BEGIN SELECT RAISE(ABORT, 'complaint_event is append-only: events cannot be changed'); END"""

POSTGRES_TRIGGERS = [
    # refuse_change_except_redaction(message, column): an UPDATE that only sets ``column``
    # to the marker passes; any other UPDATE, and every DELETE, is refused.
    f"""CREATE FUNCTION refuse_change_except_redaction() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE'
            AND to_jsonb(NEW) ->> TG_ARGV[1] IS NOT DISTINCT FROM '{REDACTED}'
            AND (to_jsonb(NEW) - TG_ARGV[1]) = (to_jsonb(OLD) - TG_ARGV[1]) THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION '% on % is not allowed: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0];
       END $$""",
    """CREATE TRIGGER complaint_event_append_only BEFORE UPDATE OR DELETE ON complaint_event
       FOR EACH ROW EXECUTE FUNCTION
       refuse_change_except_redaction('the audit trail is append-only', 'note')""",
    """CREATE TRIGGER callback_record_no_update BEFORE UPDATE ON callback_record
       FOR EACH ROW EXECUTE FUNCTION
       refuse_change_except_redaction('callback records are append-only', 'notes')""",
] + [
    statement
    for table in ('admin_event', 'export_log')
    for statement in (
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION refuse_change('{table} is append-only')""",
        f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
            FOR EACH STATEMENT EXECUTE FUNCTION refuse_change('{table} is append-only')""",
    )
]
POSTGRES_TRIGGER_NAMES = [
    ('complaint_event_append_only', 'complaint_event'),
    ('callback_record_no_update', 'callback_record'),
    ('admin_event_append_only', 'admin_event'), ('admin_event_no_truncate', 'admin_event'),
    ('export_log_append_only', 'export_log'), ('export_log_no_truncate', 'export_log'),
]
POSTGRES_OLD_EVENT_TRIGGER = """CREATE TRIGGER complaint_event_append_only BEFORE UPDATE OR DELETE ON complaint_event
       FOR EACH ROW EXECUTE FUNCTION refuse_change('the audit trail is append-only')"""
