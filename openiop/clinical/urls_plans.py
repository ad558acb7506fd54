"""URLs of plans (filled in by its owner)."""

urlpatterns: list = []
