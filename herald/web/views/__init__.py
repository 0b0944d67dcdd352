"""Views of Herald's web interface: the public pages and the staff desk."""
