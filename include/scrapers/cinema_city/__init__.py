"""Cinema City (JSON quickbook API): client, parser and chain steps."""
