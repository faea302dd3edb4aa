"""A Singer tap for Zendesk Support tickets through the time-based Incremental Ticket Export."""

__version__ = "0.1.0"
