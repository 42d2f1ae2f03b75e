"""Bookings of students onto sessions: lifecycle, guaranteed capacity, employer decisions."""
