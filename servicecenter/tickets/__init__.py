"""Tickets: forwarded inquiries with a 24-service-hour SLA, articles, history, queues."""
