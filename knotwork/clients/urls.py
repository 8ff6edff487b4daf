"""Client-record pages beyond the core ones in config/urls.py (intake, consent, drawings, summary)."""

urlpatterns: list = []
