"""The ``foreshock`` command line."""
