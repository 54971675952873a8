"""The languages govern speaks, and which of them are written right to left."""

SUPPORTED_LOCALES = ("en", "ar", "he")
RTL_LOCALES = frozenset({"ar", "he"})
