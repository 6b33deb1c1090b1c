"""Web layer: Flask blueprints for the voice webhooks, health and admin."""
