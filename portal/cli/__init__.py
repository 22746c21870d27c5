"""The `talentconnect` command: `main` registers one module per command group."""
