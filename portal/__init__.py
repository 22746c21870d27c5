"""The web portal and the `talentconnect` command, in floors (see docs/ARCHITECTURE.md).

The loose modules are the top and the ground: `app` assembles the Flask app from
every floor; `config` (the settings table), `logs`, `schema` and `migrate` (the
database) and `demo` (the demo company) are what every floor stands on.
Importing this package loads nothing else, so a command that serves no page
never loads Flask.
"""
