"""Alerts: what needs a clinician's attention (an unexpected screen, an injection overdue …),
with who it is for, how urgent, and whether someone acknowledged or resolved it."""
