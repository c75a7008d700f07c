"""The PostgreSQL engine: the connection pool and its numbered migrations,
the repositories, the digest's SQL, the webhook inbox, backups through
pg_dump/pg_restore, and the copy of a ward's SQLite history."""
