"""Rate limits: the RateLimit type, and the rate-limit input every owner takes."""
