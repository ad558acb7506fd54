"""URLs of screening settings, the week list and alerts (filled in by its owner)."""

urlpatterns: list = []
