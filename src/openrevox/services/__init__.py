"""Use cases: domain rules applied over repositories. The caller owns the transaction."""
