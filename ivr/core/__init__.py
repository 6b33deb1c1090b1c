"""The pure core: model, calendar, schedule, numbers, verbs and the call flow.

Nothing here imports Flask, twilio, SQLAlchemy or APScheduler; every function is given the
instant and returns a value.
"""
