"""A toy fifth service declared through its spec alone (tests of the one-declaration platform)."""
