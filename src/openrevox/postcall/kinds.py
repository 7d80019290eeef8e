"""Every kind of durable job, by name: what a job runner is given."""

from __future__ import annotations

from openrevox.jobs.kinds import JobKind
from openrevox.postcall.deliveries import (
    DeliverEmail,
    DeliverSlack,
    DeliverSms,
    DeliverWebhook,
    DeliverZoho,
)
from openrevox.postcall.flow import AnalyseCall
from openrevox.services.inbound_watch import WatchInboundStream


def post_call_kinds() -> dict[str, JobKind]:
    kinds: list[JobKind] = [
        AnalyseCall(),
        DeliverWebhook(),
        DeliverEmail(),
        DeliverSms(),
        DeliverSlack(),
        DeliverZoho(),
        WatchInboundStream(),
    ]
    return {kind.name: kind for kind in kinds}
