"""ASGI entry point for uvicorn (`servicecenter serve`)."""

from servicecenter.app import create_app

app = create_app(gc_einfrieren=True)
