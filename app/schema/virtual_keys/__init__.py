"""Virtual keys: the VirtualKey type with its provider and MCP configs, and the key writes."""
