"""Supervisor dashboard: the 115 figures, server-side SVG charts and CSV exports."""
