"""URLs of notes (filled in by its owner)."""

urlpatterns: list = []
