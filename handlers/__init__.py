"""The channels: each a folder of thin adapters between a messenger and the
use cases (telegram/, zalo/)."""
