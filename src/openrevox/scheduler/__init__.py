"""The dispatcher and workers: claim due call orders, dial them, apply the retry policy."""

from openrevox.scheduler.dispatcher import Dispatcher
from openrevox.scheduler.service import run_worker, telephony_for

__all__ = ["Dispatcher", "run_worker", "telephony_for"]
