"""Access reviews: certification campaigns over who may act on which account."""
