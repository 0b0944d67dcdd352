"""The artifact store and its serving: every public byte, kept and handed out.

``artifacts`` stores each file the registered builders render, once when it
changes (``blocks`` for the large ones); ``serving`` puts the served copy on disk
and answers requests without the database; ``siteexport`` and ``gitexport`` write
it out for a static host or a git repository; ``signing`` holds the OpenPGP keys
the signed files carry. It knows no format (an import contract in ``pyproject.toml``).
"""
