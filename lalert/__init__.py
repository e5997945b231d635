"""lalert: disaster-alert geospatial dissemination for L-Alert, JMA XML and CAP."""

__version__ = "0.1.0"
