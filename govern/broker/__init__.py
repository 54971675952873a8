"""The token broker: connects accounts through OAuth, keeps tokens in the secret store, acts for people."""
