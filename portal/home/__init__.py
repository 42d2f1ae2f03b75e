"""Pages of the whole portal: the start page, each role's overview, a student's record, health, statements, the outbox."""
