"""``python -m openrevox.testing.pg_probe``: say whether PostgreSQL tests will run."""

from __future__ import annotations

import asyncio

from openrevox.testing.postgres import admin_url, reachable


def main() -> None:
    url = admin_url()
    problem = asyncio.run(reachable(url))
    if problem is None:
        print(f"PostgreSQL reachable at {url}: storage and API tests run on SQLite and PostgreSQL.")
    else:
        print(f"*** PostgreSQL NOT reachable at {url} ({problem}).")
        print("*** PostgreSQL tests will be SKIPPED; only SQLite is tested in this run.")


if __name__ == "__main__":
    main()
