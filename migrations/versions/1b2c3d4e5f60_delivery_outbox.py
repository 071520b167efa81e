"""delivery: e-mail, robot and SMS messages sent by the worker; preferences; robots

Revision ID: 1b2c3d4e5f60
Revises: 0a1b2c3d4e5f
Create Date: 2026-11-30 10:40:00.000000

- ``delivery``: one row per message to send outside the app, rendered when written, with
  its idempotency key (unique), status, tries, next try and the worker's lease.
- ``notification_preference``: what reaches each member of staff by e-mail / robot, digest.
- ``notification``: ``planned_at`` (fanned out to deliveries) replaces the unused
  ``delivered_email_at``; ``key`` dedupes notifications without an event (due soon).
  Existing notifications count as planned: the first worker run does not mail the backlog.
- ``department``: its optional group robot (WeCom / DingTalk webhook, DingTalk secret).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1b2c3d4e5f60'
down_revision = '0a1b2c3d4e5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification_preference',
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('email_kinds', sa.String(length=500), nullable=False),
    sa.Column('robot_kinds', sa.String(length=500), nullable=False),
    sa.Column('digest', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('digest_sent_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                            name=op.f('fk_notification_preference_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('staff_id', name=op.f('pk_notification_preference'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_notification_key'), ['key'])
        batch_op.drop_column('delivered_email_at')
    op.execute("UPDATE notification SET planned_at = created_at")
    op.create_index('ix_notification_unplanned', 'notification', ['id'], unique=False,
                    sqlite_where=sa.text('planned_at IS NULL'),
                    postgresql_where=sa.text('planned_at IS NULL'))
    op.create_table('delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('purpose', sa.String(length=30), nullable=False),
    sa.Column('key', sa.String(length=160), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.Column('recipient_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('html', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('leased_by', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                            name=op.f('fk_delivery_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'],
                            name=op.f('fk_delivery_department_id_department')),
    sa.ForeignKeyConstraint(['event_id'], ['complaint_event.id'],
                            name=op.f('fk_delivery_event_id_complaint_event')),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'],
                            name=op.f('fk_delivery_notification_id_notification')),
    sa.ForeignKeyConstraint(['recipient_id'], ['staff.id'],
                            name=op.f('fk_delivery_recipient_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery')),
    sa.UniqueConstraint('key', name=op.f('uq_delivery_key'))
    )
    op.create_index('ix_delivery_status_next_attempt_at', 'delivery',
                    ['status', 'next_attempt_at'], unique=False)
    op.create_index(op.f('ix_delivery_complaint_id'), 'delivery', ['complaint_id'],
                    unique=False)
    op.create_index(op.f('ix_delivery_notification_id'), 'delivery', ['notification_id'],
                    unique=False)
    # department: plain ALTER TABLE on both databases (nullable columns).
    op.add_column('department', sa.Column('robot_kind', sa.String(length=16), nullable=True))
    op.add_column('department', sa.Column('robot_url', sa.String(length=500), nullable=True))
    op.add_column('department', sa.Column('robot_secret', sa.String(length=200),
                                          nullable=True))


def downgrade():
    with op.batch_alter_table('department', schema=None) as batch_op:
        batch_op.drop_column('robot_secret')
        batch_op.drop_column('robot_url')
        batch_op.drop_column('robot_kind')
    op.drop_index(op.f('ix_delivery_notification_id'), table_name='delivery')
    op.drop_index(op.f('ix_delivery_complaint_id'), table_name='delivery')
    op.drop_index('ix_delivery_status_next_attempt_at', table_name='delivery')
    op.drop_table('delivery')
    op.drop_index('ix_notification_unplanned', table_name='notification')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_email_at', sa.DateTime(), nullable=True))
        batch_op.drop_constraint(batch_op.f('uq_notification_key'), type_='unique')
        batch_op.drop_column('key')
        batch_op.drop_column('planned_at')
    op.drop_table('notification_preference')
