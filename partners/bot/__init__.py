"""The Telegram bot (API.md, "Telegram bot webhook"): the webhook view, update intake with
update_id dedupe (`updates`), and the commands with their texts (`commands`). Replies and every
other Bot API call run in Celery, through p2phub.clients.telegram."""
