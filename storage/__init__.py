"""The storage engines: each a folder implementing the repository protocols
of bot/ports.py with its own migrations (sqlite/)."""
