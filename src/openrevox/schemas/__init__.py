"""Pydantic request and response models: exactly the revox SDK's wire format."""
