"""Browser tests: every page each role can reach, checked in Debian's Chromium, and keyboard journeys."""
