"""The signed-in user's home: what waits for them and the posture at a glance, read as bounded counts."""
