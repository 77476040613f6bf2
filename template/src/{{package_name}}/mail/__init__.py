"""E-mail: messages rendered from the project's templates, and their delivery, off the request path."""
