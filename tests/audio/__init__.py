"""Audio tests: local speech, sounds, recording, the Twilio media-stream call end to end."""
