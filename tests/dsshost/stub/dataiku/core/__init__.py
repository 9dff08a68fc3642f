"""`dataiku.core`: internals of DSS's package that plugins use (see `intercom`)."""
