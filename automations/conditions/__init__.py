"""Every condition a workflow can use (registered at import)."""
