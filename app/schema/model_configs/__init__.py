"""Model configs (Bifrost v2): budgets and rate limits per model, globally or for one key or user."""
