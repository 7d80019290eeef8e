"""After-call work: analysis of the conversation, then notifications (docs/postcall.md)."""
