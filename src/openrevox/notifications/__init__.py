"""After-call notifications: signed webhooks, email, SMS, Slack, Zoho (docs/notifications.md)."""
