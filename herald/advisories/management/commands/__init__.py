"""``herald advisory``: see the command module."""
