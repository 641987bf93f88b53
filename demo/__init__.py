"""Demo data: `manage.py seed_demo` (the top layer: it may use every app, and nothing imports it)."""
