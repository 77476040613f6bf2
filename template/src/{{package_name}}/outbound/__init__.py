"""Requests this service sends to addresses others name: only to public addresses, small, quick and few."""
