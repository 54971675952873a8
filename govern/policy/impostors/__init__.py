"""The impostor watch: which candidate handles look like the inventory's own handles, and why.

matching.py scores candidates against the handles (the confusables skeleton from govern.policy.confusables,
shared with the engine's text folding); cli.py is `govern accounts impostors`.
"""
