"""The domain checks, one module per check named like its JSON key, the static ``registry`` of them and
the ``runner`` that runs them concurrently over one DNS client."""
