"""The audit trail: who did what, when, from where, with what outcome."""
