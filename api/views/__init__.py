"""The API's views, one module per resource (URLs in api/urls.py)."""
