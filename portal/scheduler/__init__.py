"""The scheduler: timed jobs (reminders, escalations, purges) run by one leading process."""
