"""Offers, sessions, supervisors, the employer profile, offer search and the employer/offer imports."""
