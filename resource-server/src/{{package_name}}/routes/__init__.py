"""The API's routes, one module per concern; the application mounts them."""
