"""Renderers: a frozen advisory snapshot in, the bytes of one public format out.

One module per format (``pages`` HTML, ``markdown`` the handbook page, ``feeds``,
``osv``, ``csaf``, ``cve5``, ``securitytxt``), the checks each format's documents
must pass (``schemas``, ``csaf_checks``, ``csaf_validator``), and the builders that
turn the public advisories into the site's files for the artifact store
(``builders``, ``surfaces_*``).
"""
