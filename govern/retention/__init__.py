"""Data retention: how long each kind of data govern keeps is kept, and legal holds that stop its deletion."""
