"""The "Connect With Us" flow's services: the draft, profile checks, uploads, Submit Profile."""
