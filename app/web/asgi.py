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
# that), so a young collection finds next to no garbage; what it does is traverse every in-flight
# request's live objects again. It fires when tracked objects grew by threshold0 since the last one: at
# the default 700 that cost ~20% of a dashboard's CPU; 64 dashboards in flight hold 100-150k objects.
# At 200k it fires on real growth of the heap (garbage cycles), not on the ebb and flow of requests.
gc.set_threshold(200_000, 10, 10)
