"""The social media policy as code: packs, detectors, the engine, and where decisions are made."""
