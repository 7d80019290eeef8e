"""Helpers shipped for tests, ours and our users': a real server process, fakes, probes."""
