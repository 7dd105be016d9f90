"""DuckDB access: the SQL files shipped in sql/, the schema, and the reads and writes of every table."""
