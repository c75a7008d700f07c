"""The leaders' dashboard: its pages (pages.py), its map (svgmap.py), its
templates and stylesheet."""
