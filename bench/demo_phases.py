"""`opsconsole demo`'s path to a seeded database, phase by phase (run by sections/demo.py).

    python bench/demo_phases.py [SCALE]

Starts a fresh embedded server in a temporary directory (as ``opsconsole demo`` does without
--data-dir), creates the demo database, the schema and the data with the product's own
functions, stops the server, and prints the seconds of each phase as one JSON object.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

import product  # noqa: E402
import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

DEMO_DB = product.demo_db_name()
T_IMPORT = time.perf_counter()


def main(scale: int) -> dict[str, float]:
    t = {"import_s": T_IMPORT - T0}
    t0 = time.perf_counter()
    emb = product.embedded_start(None)  # initdb in a fresh temporary directory, then start
    t["server_start_s"] = time.perf_counter() - t0
    try:
        t0 = time.perf_counter()
        with psycopg.connect(emb.dsn, autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DEMO_DB)))
        dsn = emb.dsn_for(DEMO_DB)
        t["create_database_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        product.demo_init_schema(dsn)
        t["init_schema_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        product.demo_seed(dsn, scale, 42)
        t["seed_s"] = time.perf_counter() - t0
    finally:
        t0 = time.perf_counter()
        emb.stop()
        t["server_stop_s"] = time.perf_counter() - t0
    return t


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)))
