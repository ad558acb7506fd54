"""URLs of group_notes (filled in by its owner)."""

urlpatterns: list = []
