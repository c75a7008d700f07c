"""Use cases over the ports: what residents, cadres and leaders can do, the
sweep, the digests, the org chart's administration; no channel, no database."""
