"""HTTP handlers, one module per governance resource."""
