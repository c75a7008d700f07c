"""The org chart in and out: YAML with a line for every mistake, the CSV
lists a ward office keeps, and the export back to YAML."""
