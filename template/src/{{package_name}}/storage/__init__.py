"""Where data lives: the SQL database, its tables and migrations, and the token store with its record keys and revocation feed."""
