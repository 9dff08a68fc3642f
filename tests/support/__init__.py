"""Helpers the tests share: loopback servers standing in for Google and Docker, the emulator,
DSS clusters made through the harness, HTML reports read by their tables, kubectl."""
