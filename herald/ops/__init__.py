"""Operations: the commands and endpoints that see the whole desk.

``herald setup`` (and its demo data), ``herald serve``, ``herald worker``,
``herald status``, ``herald audit``, and the ``/healthz``, ``/readyz`` and
``/metrics`` endpoints. They start, check and describe every app at once, so
this is the one app allowed to import all the others (see the import-linter
contracts in ``pyproject.toml``); nothing imports it.
"""
