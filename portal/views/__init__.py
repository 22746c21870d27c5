"""The pages and the REST API: one blueprint a module, each a thin edge over a service."""
