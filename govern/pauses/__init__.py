"""Pause All: a pause stops publishing for a scope (everything, a business unit, a network, an account) until a second person resumes it or its resume time passes."""
