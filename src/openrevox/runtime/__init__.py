"""The call runtime: a Pipecat pipeline built from the assistant config."""
