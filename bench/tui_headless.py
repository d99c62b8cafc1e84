"""Headless TUI start-up, split into phases (run by sections/startup.py in a fresh process).

    python bench/tui_headless.py DSN

Prints one JSON object: seconds spent importing the app, and from app construction to the first
refresh applied (the app's own "results on screen" counter), measured with Textual's
``run_test`` at 80x24.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

import product  # noqa: E402

product.import_tui()
T_IMPORT = time.perf_counter()


async def main(dsn: str) -> dict[str, float | None]:
    cat = product.load_catalog()
    t_catalog = time.perf_counter()
    app = product.tui_app(dsn, cat)
    t_construct = time.perf_counter()
    first: float | None = None
    mounted: float | None = None
    async with app.run_test(size=(80, 24)) as pilot:
        mounted = time.perf_counter()
        deadline = mounted + 60
        while time.perf_counter() < deadline:
            if product.tui_has_data(app):
                await pilot.pause()  # let the screen apply them
                first = time.perf_counter()
                break
            await pilot.pause(0.005)
    return {
        "import_s": T_IMPORT - T0,
        "catalog_s": t_catalog - T_IMPORT,
        "construct_s": t_construct - t_catalog,
        "construct_to_mounted_s": mounted - t_construct if mounted else None,
        "construct_to_first_data_s": first - t_construct if first else None,
        "script_start_to_first_data_s": first - T0 if first else None,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
