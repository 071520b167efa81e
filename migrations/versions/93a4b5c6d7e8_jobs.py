"""Jobs (issue 13): long work off the request, with progress; a notification may
link to the job whose end it announces.

Revision ID: 93a4b5c6d7e8
Revises: 8293a4b5c6d7
Create Date: 2026-11-30 20:37:19.365206

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '93a4b5c6d7e8'
down_revision = '8293a4b5c6d7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('result_key', sa.String(length=200), nullable=True),
    sa.Column('result_name', sa.String(length=200), nullable=True),
    sa.Column('result_size', sa.Integer(), nullable=True),
    sa.Column('result_mimetype', sa.String(length=100), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('result_deleted_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['staff.id'], name=op.f('fk_job_owner_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.create_index('ix_job_owner_id_id', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_job_status_heartbeat_at', ['status', 'heartbeat_at'], unique=False)

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notification_job_id_job'), 'job', ['job_id'], ['id'])



def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_job_id_job'), type_='foreignkey')
        batch_op.drop_column('job_id')

    with op.batch_alter_table('job', schema=None) as batch_op:
        batch_op.drop_index('ix_job_status_heartbeat_at')
        batch_op.drop_index('ix_job_owner_id_id')

    op.drop_table('job')
