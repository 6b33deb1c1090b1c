"""Call records: the store (SQLAlchemy Core), what the webhooks record, and a call's story."""
