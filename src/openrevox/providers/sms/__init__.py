"""SMS providers: the interface and a local one that logs and records messages."""
