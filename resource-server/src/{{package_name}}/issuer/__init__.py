"""The issuer whose tokens the API accepts: its conventions, its metadata and its published keys."""
