"""Importers: other people's documents in, published advisories out.

``documents`` reads OSV/GHSA, CVE JSON 5 and CSAF 2.0 files into advisory data
(pure); ``mdimport`` reads the handbook page back; ``import_actions`` writes
what they read through the advisories' own actions.
"""
