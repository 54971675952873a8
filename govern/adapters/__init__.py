"""The outside world behind Protocols: secret stores, the directory, the social networks."""
