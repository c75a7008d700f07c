"""The Telegram channel: python-telegram-bot's Application, handlers by role,
keyboards, polling, the webhook, pacing and the outbox sender."""
