"""Self-service: what the holder of a virtual key may see of it (``myVirtualKey``), what a key costs
(``VirtualKey.usage``), and the rule that a key holder reaches nothing else (``guard``)."""

from app.schema.self_service.guard import KEY_HOLDER_FIELDS, key_holder_refusal
from app.schema.self_service.queries import SelfServiceQueries

__all__ = ["KEY_HOLDER_FIELDS", "SelfServiceQueries", "key_holder_refusal"]
