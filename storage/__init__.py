"""The model layer: tables, sessions, migrations and the rules that belong to the data."""
