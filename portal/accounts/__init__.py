"""Users, roles, sign-in, invitations and one-time tokens."""
