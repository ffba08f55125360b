"""Kontakte: every logged citizen contact (call, e-mail, chat, visit) and its outcome."""
