"""The ASGI application object for uvicorn workers (settings from the environment)."""

from app.web.app import create_app

app = create_app()
