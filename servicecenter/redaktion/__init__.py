"""Redaktion: edit mode for the knowledge base (versioned changes, publishing) and the Wissenslücken list."""
