"""The OSV query API (``/v1/query``, ``/v1/querybatch``, ``/v1/vulns/<id>``), as osv.dev answers."""
