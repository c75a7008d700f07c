"""A digest rendered for people: its text, its chart and its files, the same
for Telegram and the command line (channel-neutral: no Telegram here)."""
