"""Provider governance (Bifrost v2): budgets and a rate limit for all traffic to one provider."""
