"""Measurement-based care (issue 6): validated questionnaires, their scores, bands and flags."""
