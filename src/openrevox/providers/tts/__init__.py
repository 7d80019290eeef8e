"""Text to speech: vendor services chosen by ``make_tts`` and the local piper engine."""
