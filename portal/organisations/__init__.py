"""Schools, employers, hubs and the student roster."""
