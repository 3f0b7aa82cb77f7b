"""HTTP clients for the outside services workflows call: translation, AI, webhooks."""
