"""The text-scanning engine: pure functions, no Flask and no database.

packs.py loads and validates the YAML packs (against pack.schema.json), text.py normalises a text once,
detectors/ hold the built-in pattern detectors, evaluation.py compiles the packs and evaluates a text (and the
images' detections) into the Decision that findings.py defines.
"""
