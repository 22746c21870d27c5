"""The Flask edge: the request's runtime, browser sessions, signed routes, limits and serving."""
