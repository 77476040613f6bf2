"""What the service tells its operators: structured request logs and an access log without secrets."""
