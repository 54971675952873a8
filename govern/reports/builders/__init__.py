"""One module per report: each builds ReportParts from a session, a period and the settings, and changes nothing."""
