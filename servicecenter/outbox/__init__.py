"""Outbox: side effects written in the request's transaction, delivered later by the worker."""
