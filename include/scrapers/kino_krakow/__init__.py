"""Kino Krakow (Rails HTML site): client with one session per day, parser and chain steps."""
