"""Every action a workflow can take (registered at import)."""
