"""The SQLite engine: the connection and its numbered migrations, the
repositories, the digest's SQL, the webhook inbox and restore."""
