"""User accounts: users and their profiles, passwords and their policy, and password logins with their limits."""
