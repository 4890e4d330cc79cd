"""The ASGI application object for uvicorn workers (settings from the environment)."""

import gc

from app.observability import configure_logging
from app.settings import load_settings
from app.web.app import create_app

settings = load_settings()
configure_logging(settings.log_level)
app = create_app(settings)

# Everything built at start-up (schema, caches, modules) lives as long as the worker: moving it out of
# the collector's generations keeps full collections short, which is what shows in tail latency.
gc.collect()
gc.freeze()
# A request's objects are freed by reference counting when it ends (no reference cycles: a test holds
# that), so young collections find next to nothing while twenty requests' worth of live objects are
# traversed again and again: at the default 700 they cost ~20% of a dashboard's CPU. Collect rarely.
gc.set_threshold(50_000, 10, 10)
