"""LLM routing: an assistant's ``llm_model`` to an OpenAI-compatible endpoint (docs/runtime.md)."""
