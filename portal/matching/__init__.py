"""Matching students to sessions: hard rules, scoring, explanations and the gap report."""
