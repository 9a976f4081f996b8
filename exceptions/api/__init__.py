"""The JSON API (Django REST Framework): exceptions listed, read and acted on — docs/api.md."""
