"""What the panel routes share: the 503 response every API route documents."""

STORE_503 = {503: {"description": "the monitor store is not configured, down or too slow"}}
