"""The artifact store and its serving: every public byte, kept and handed out.

``artifacts`` renders each file once when it changes and stores it (``blocks``
for the large ones); ``serving`` puts the served copy on disk and answers
requests without the database; ``siteexport`` and ``gitexport`` write it out
for a static host or a git repository; ``signing`` holds the OpenPGP keys the
signed files carry; ``validate`` re-checks every stored file.
"""
