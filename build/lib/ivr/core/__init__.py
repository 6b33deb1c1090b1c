"""The pure core: model, calendar, schedule, numbers, verbs, the call flow, its step state and its facts.

Nothing here imports Flask, twilio, SQLAlchemy or APScheduler; every function is given the
instant and returns a value.
"""
