"""``herald incident``: see the command module."""
