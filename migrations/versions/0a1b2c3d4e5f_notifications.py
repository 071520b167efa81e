"""notifications: the in-app outbox

Revision ID: 0a1b2c3d4e5f
Revises: f3b4c5d6e7a8
Create Date: 2026-12-02 12:00:00.000000

- ``notification``: one row per person told of an event (services.notifications, the
  sweep), unique per (recipient, event, kind); indexed by (recipient, read_at) for the
  unread count of every page.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0a1b2c3d4e5f'
down_revision = 'f3b4c5d6e7a8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('read_at', sa.DateTime(), nullable=True),
    sa.Column('delivered_email_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'],
                            name=op.f('fk_notification_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['event_id'], ['complaint_event.id'],
                            name=op.f('fk_notification_event_id_complaint_event')),
    sa.ForeignKeyConstraint(['recipient_id'], ['staff.id'],
                            name=op.f('fk_notification_recipient_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('recipient_id', 'event_id', 'kind',
                        name='uq_notification_recipient_id_event_id_kind')
    )
    op.create_index('ix_notification_recipient_id_read_at', 'notification',
                    ['recipient_id', 'read_at'], unique=False)
    op.create_index(op.f('ix_notification_complaint_id'), 'notification', ['complaint_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_notification_complaint_id'), table_name='notification')
    op.drop_index('ix_notification_recipient_id_read_at', table_name='notification')
    op.drop_table('notification')
