"""Accounts and access: users (Benutzer), web sessions, personal API tokens, roles and CSRF."""
