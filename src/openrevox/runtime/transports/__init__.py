"""How a call session meets the outside world: text, Twilio media streams."""
