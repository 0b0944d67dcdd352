"""Renderers: a frozen advisory snapshot in, the bytes of one public format out.

One module per format (``pages`` HTML, ``markdown`` the handbook page, ``feeds``,
``osv``, ``csaf``, ``cve5``, ``securitytxt``), and the checks each format's
documents must pass (``schemas``, ``csaf_checks``, ``csaf_validator``). They know
nothing of the artifact store (an import contract in ``pyproject.toml``).
"""
