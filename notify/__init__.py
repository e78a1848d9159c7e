"""Notifications: email and signed webhooks when syncs fail, hold, go stale or drop."""
