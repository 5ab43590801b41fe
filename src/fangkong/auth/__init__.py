"""Users, roles bound to region subtrees, sessions, API tokens, and the one place where scoping happens."""
