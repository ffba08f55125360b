"""Übergabe: hand-off of tickets to the departments' case-management back ends (Fachverfahren)."""
