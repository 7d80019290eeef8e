"""openrevox: a self-hosted voice-agent platform that speaks the Revox REST API."""

__version__ = "0.1.0"
