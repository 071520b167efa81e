"""Jobs: long work off the request, with progress (issue 13). See :mod:`services.jobs.core`
and :mod:`services.jobs.executors`; the kinds register themselves with :func:`kind`
(services.job_kinds: exports, workbooks, notification delivery, re-indexing)."""

from .core import (
    CANCELLED,
    DONE,
    FAILED,
    JOB_DONE,
    JOB_FAILED,
    KINDS,
    QUEUED,
    RUNNING,
    STATUS_LABELS,
    JobCancelled,
    JobContext,
    JobRefused,
    cancel,
    housekeeping,
    job_for,
    kind,
    kind_label,
    recent_for,
    run_job,
    status_of,
    submit,
)
from .executors import executor

__all__ = ["CANCELLED", "DONE", "FAILED", "JOB_DONE", "JOB_FAILED", "KINDS", "QUEUED",
           "RUNNING", "STATUS_LABELS", "JobCancelled", "JobContext", "JobRefused", "cancel",
           "executor", "housekeeping", "job_for", "kind", "kind_label", "recent_for",
           "run_job", "status_of", "submit"]
