"""The web console: server-rendered pages for the IT and governance teams, in English, Arabic and Hebrew."""
