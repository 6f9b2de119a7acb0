"""Quality validation: decide whether a draft is good enough to keep, and say why."""
