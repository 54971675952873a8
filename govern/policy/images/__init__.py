"""Checks on attached images: registry look-alikes, someone else's copyright, GPS, unattributed reposts.

limits.py says what an attachment may cost (no imaging library loaded), decoding.py opens untrusted bytes,
metadata.py reads rights claims and GPS, fingerprints.py hashes and matches against the registry, checks.py turns
all of it into detections, stripping.py writes a copy without metadata. registry.py registers protected and
licensed images and takes the snapshot the checks match against; cli.py is `govern policy register-image`.
"""
