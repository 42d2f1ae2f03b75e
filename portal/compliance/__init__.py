"""Compliance: the checklist each placement must pass, risk assessments, DBS notes, parental consent."""
