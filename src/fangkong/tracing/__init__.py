"""Contact tracing: who shared a venue with an index person, and for how long (密接/时空伴随)."""
