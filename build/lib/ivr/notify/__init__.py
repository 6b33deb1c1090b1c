"""Alerts for administrators and text messages to callers."""
