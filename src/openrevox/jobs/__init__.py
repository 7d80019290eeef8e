"""Durable jobs: claimed under a lease, retried with backoff, each try logged (docs/postcall.md)."""

from openrevox.jobs.kinds import JobContext, JobKind, JobStep
from openrevox.jobs.runner import JobRunner

__all__ = ["JobContext", "JobKind", "JobRunner", "JobStep"]
