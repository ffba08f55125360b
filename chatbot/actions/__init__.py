"""Custom actions of the citizen chatbot. They only talk to the servicecenter's HTTP API (no imports of ours)."""
