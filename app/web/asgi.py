"""The ASGI application object for uvicorn workers (settings from the environment)."""

from app.observability import configure_logging
from app.settings import load_settings
from app.web.app import create_app

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)
