"""Legacy credentials: an account's password and TOTP seed in the secret store, and break-glass checkouts."""
