"""Evidence bundles: every report of a period with its audit events sealed by a signed checkpoint, for auditors."""
