"""Telephony (CTI): Zammad-compatible call events, caller-ID lookup, screen pop, call log, service level."""
