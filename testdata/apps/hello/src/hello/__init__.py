"""A small web app shipped by pyship."""

__version__ = "0.1.0"
