"""The Project Shield daily briefing and the meeting's actions."""
