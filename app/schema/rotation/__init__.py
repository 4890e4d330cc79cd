"""Key rotation: ``rotateVirtualKey`` and ``rotateVirtualKeys`` (Bifrost v2)."""
