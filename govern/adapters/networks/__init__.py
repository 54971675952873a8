"""Social networks: one OAuth 2.0 client, configured per network by a preset."""
