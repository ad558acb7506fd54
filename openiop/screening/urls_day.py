"""URLs of the day's screens and selection (filled in by its owner)."""

urlpatterns: list = []
