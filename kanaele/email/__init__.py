"""E-mail channel: raw storage, receiving pipeline (A1) and transport (A2)."""
