"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 15:35:39.886298
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('all_interests', sa.Boolean(), nullable=False),
    sa.Column('frequency_class', sa.Enum('daily', 'weekly', 'both', name='frequency_class', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('cron', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_schedules')),
    sa.UniqueConstraint('name', name=op.f('uq_alert_schedules_name'))
    )
    op.create_table('candidates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('phone_e164', sa.String(length=20), nullable=True),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('linkedin_url', sa.String(length=500), nullable=True),
    sa.Column('github_url', sa.String(length=500), nullable=True),
    sa.Column('portfolio_url', sa.String(length=500), nullable=True),
    sa.Column('locale', sa.String(length=35), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'deleted', name='candidate_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_candidates')),
    sa.UniqueConstraint('email', name=op.f('uq_candidates_email')),
    sa.UniqueConstraint('public_id', name=op.f('uq_candidates_public_id'))
    )
    op.create_table('interests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=120), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('keywords', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('active', 'retired', name='interest_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['merged_into_id'], ['interests.id'], name=op.f('fk_interests_merged_into_id_interests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interests')),
    sa.UniqueConstraint('name', name=op.f('uq_interests_name')),
    sa.UniqueConstraint('slug', name=op.f('uq_interests_slug'))
    )
    op.create_table('job_postings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('apply_url', sa.String(length=1000), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_postings')),
    sa.UniqueConstraint('reference', name=op.f('uq_job_postings_reference'))
    )
    with op.batch_alter_table('job_postings', schema=None) as batch_op:
        batch_op.create_index('ix_job_postings_open', ['closed_at', 'posted_at'], unique=False)

    op.create_table('recruiter_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('admin', 'recruiter', name='recruiter_role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recruiter_users')),
    sa.UniqueConstraint('email', name=op.f('uq_recruiter_users_email'))
    )
    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Enum('hard_bounce', 'complaint', 'manual', 'erasure', name='suppression_reason', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
    sa.UniqueConstraint('address_hash', name=op.f('uq_suppressions_address_hash'))
    )
    op.create_table('alert_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('schedule_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('running', 'succeeded', 'failed', name='alert_run_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('candidates_matched', sa.Integer(), nullable=False),
    sa.Column('digests_queued', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['schedule_id'], ['alert_schedules.id'], name=op.f('fk_alert_runs_schedule_id_alert_schedules'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_runs'))
    )
    with op.batch_alter_table('alert_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_runs_schedule_id'), ['schedule_id'], unique=False)

    op.create_table('alert_schedule_interests',
    sa.Column('schedule_id', sa.Integer(), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interest_id'], ['interests.id'], name=op.f('fk_alert_schedule_interests_interest_id_interests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['schedule_id'], ['alert_schedules.id'], name=op.f('fk_alert_schedule_interests_schedule_id_alert_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('schedule_id', 'interest_id', name=op.f('pk_alert_schedule_interests'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('audience', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'scheduled', 'sending', 'sent', 'cancelled', name='campaign_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['recruiter_users.id'], name=op.f('fk_campaigns_created_by_id_recruiter_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    op.create_table('consent_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Enum('interest', 'mass_email', name='consent_scope', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('grant', 'confirm', 'change', 'withdraw', name='consent_action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.Enum('connect_form', 'preference_center', 'one_click', 'dashboard', 'admin', 'bounce', 'complaint', 'import', name='consent_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('wording_version', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_consent_events_candidate_id_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interest_id'], ['interests.id'], name=op.f('fk_consent_events_interest_id_interests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_events'))
    )
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.create_index('ix_consent_events_candidate_occurred', ['candidate_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_events_interest_id'), ['interest_id'], unique=False)

    op.create_table('job_interests',
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interest_id'], ['interests.id'], name=op.f('fk_job_interests_interest_id_interests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['job_postings.id'], name=op.f('fk_job_interests_job_id_job_postings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('job_id', 'interest_id', name=op.f('pk_job_interests'))
    )
    with op.batch_alter_table('job_interests', schema=None) as batch_op:
        batch_op.create_index('ix_job_interests_interest_id', ['interest_id'], unique=False)

    op.create_table('mass_email_statuses',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('opted_in', 'opted_out', name='mass_email_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_mass_email_statuses_candidate_id_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', name=op.f('pk_mass_email_statuses'))
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('job_alert', 'campaign', 'confirmation', 'login_link', 'welcome', 'resume_nudge', 'account_deleted', 'interest_merged', name='message_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=320), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'skipped', 'failed', name='outbox_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deliver_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_outbox_messages_candidate_id_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_messages_dedupe_key'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index('ix_outbox_messages_claim', ['status', 'next_attempt_at'], unique=False)

    op.create_table('resumes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('storage_name', sa.String(length=64), nullable=False),
    sa.Column('original_filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('parsed_fields', sa.JSON(), nullable=False),
    sa.Column('source', sa.Enum('upload', 'drive', 'dropbox', name='resume_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_resumes_candidate_id_candidates'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resumes')),
    sa.UniqueConstraint('storage_name', name=op.f('uq_resumes_storage_name'))
    )
    with op.batch_alter_table('resumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resumes_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('interest_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('unconfirmed', 'subscribed', 'unsubscribed', name='subscription_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('frequency', sa.Enum('instant', 'daily', 'weekly', name='alert_frequency', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('paused_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_subscriptions_candidate_id_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interest_id'], ['interests.id'], name=op.f('fk_subscriptions_interest_id_interests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscriptions')),
    sa.UniqueConstraint('candidate_id', 'interest_id', name=op.f('uq_subscriptions_candidate_id_interest_id'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_subscriptions_interest_status_frequency', ['interest_id', 'status', 'frequency'], unique=False)

    op.create_table('digest_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('alert_run_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_run_id'], ['alert_runs.id'], name=op.f('fk_digest_items_alert_run_id_alert_runs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidates.id'], name=op.f('fk_digest_items_candidate_id_candidates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['job_postings.id'], name=op.f('fk_digest_items_job_id_job_postings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_items')),
    sa.UniqueConstraint('candidate_id', 'job_id', name=op.f('uq_digest_items_candidate_id_job_id'))
    )
    with op.batch_alter_table('digest_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_items_alert_run_id'), ['alert_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_digest_items_job_id'), ['job_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('digest_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_items_job_id'))
        batch_op.drop_index(batch_op.f('ix_digest_items_alert_run_id'))

    op.drop_table('digest_items')
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_subscriptions_interest_status_frequency')

    op.drop_table('subscriptions')
    with op.batch_alter_table('resumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resumes_candidate_id'))

    op.drop_table('resumes')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_claim')
        batch_op.drop_index(batch_op.f('ix_outbox_messages_candidate_id'))

    op.drop_table('outbox_messages')
    op.drop_table('mass_email_statuses')
    with op.batch_alter_table('job_interests', schema=None) as batch_op:
        batch_op.drop_index('ix_job_interests_interest_id')

    op.drop_table('job_interests')
    with op.batch_alter_table('consent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_events_interest_id'))
        batch_op.drop_index('ix_consent_events_candidate_occurred')

    op.drop_table('consent_events')
    op.drop_table('campaigns')
    op.drop_table('alert_schedule_interests')
    with op.batch_alter_table('alert_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_runs_schedule_id'))

    op.drop_table('alert_runs')
    op.drop_table('suppressions')
    op.drop_table('recruiter_users')
    with op.batch_alter_table('job_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_job_postings_open')

    op.drop_table('job_postings')
    op.drop_table('interests')
    op.drop_table('candidates')
    op.drop_table('alert_schedules')
