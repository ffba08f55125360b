"""Citizen status page (/status) and status API (/api/v1/status/{nummer}): ticket number + access code."""
