"""Shared codes, dates, postcodes, audit and outbox used by every feature."""
