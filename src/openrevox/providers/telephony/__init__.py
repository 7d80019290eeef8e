"""Telephony providers: dial a number and carry an attempt to its end (docs/telephony.md)."""
