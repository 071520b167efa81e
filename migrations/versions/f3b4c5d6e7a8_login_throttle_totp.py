"""login throttling, two-step sign-in, password age

Revision ID: f3b4c5d6e7a8
Revises: e8a1d2c3b4f5
Create Date: 2026-12-01 12:00:00.000000

- ``login_attempt``: failed sign-in attempts per key (account name, client address, second
  step), with the time until which the key must wait (services/auth.py, rules/login.py);
- ``staff_recovery_code``: the hashed single-use recovery codes of the two-step sign-in;
- staff: ``password_changed_at``, ``totp_secret``, ``totp_enabled``, ``totp_last_step``.
  ``locked_until`` stays (no longer written: nobody is locked out, only slowed down).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3b4c5d6e7a8'
down_revision = 'e8a1d2c3b4f5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', sa.DateTime(), nullable=True),
    sa.Column('blocked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempt')),
    sa.UniqueConstraint('key', name=op.f('uq_login_attempt_key'))
    )
    op.create_index(op.f('ix_login_attempt_last_failure_at'), 'login_attempt',
                    ['last_failure_at'], unique=False)
    op.create_table('staff_recovery_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=255), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                            name=op.f('fk_staff_recovery_code_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_recovery_code'))
    )
    op.create_index(op.f('ix_staff_recovery_code_staff_id'), 'staff_recovery_code',
                    ['staff_id'], unique=False)
    # staff: plain ALTER TABLE ADD COLUMN on both databases (no copy of the table, which
    # other tables' foreign keys point at).
    op.add_column('staff', sa.Column('password_changed_at', sa.DateTime(), nullable=True))
    op.add_column('staff', sa.Column('totp_secret', sa.String(length=64), nullable=True))
    op.add_column('staff', sa.Column('totp_enabled', sa.Boolean(), nullable=False,
                                     server_default=sa.false()))
    op.add_column('staff', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('staff', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_changed_at')
    op.drop_index(op.f('ix_staff_recovery_code_staff_id'), table_name='staff_recovery_code')
    op.drop_table('staff_recovery_code')
    op.drop_index(op.f('ix_login_attempt_last_failure_at'), table_name='login_attempt')
    op.drop_table('login_attempt')
