"""Reflections: students reflect on completed placements; staff debrief them."""
