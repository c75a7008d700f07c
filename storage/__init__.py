"""SQLite storage: repositories and migrations."""
