"""Storage: the public schema, engines, migrations and the writes the pipeline makes."""
