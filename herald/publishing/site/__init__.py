"""The public site's files: built from the public advisories, for the artifact store.

``builders`` (pages, handbook page, feeds, security.txt) and ``surfaces_osv``,
``surfaces_csaf``, ``surfaces_cve`` (the standard formats' documents and data-source
files) register with ``herald.publishing.store.artifacts``; each reads the advisories
and calls the pure renderers of ``herald.publishing.render``. ``validate`` re-checks
every stored file (``herald validate``).
"""
