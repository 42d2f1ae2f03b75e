"""Adjustment requests: a school (or hub) asks an employer to provide a need a near miss lacks, and hears back."""
