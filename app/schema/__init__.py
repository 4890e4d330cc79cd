"""The GraphQL schema (Strawberry), one package per governance domain."""

from app.schema.schema import GatewaySchema, build_schema

__all__ = ["GatewaySchema", "build_schema"]
