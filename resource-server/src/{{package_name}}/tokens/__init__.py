"""Access tokens: verified against the issuer's keys and the preset's claim conventions."""
