"""Browser tests of the Connect With Us flow (Debian's chromium through Playwright)."""
