#!/usr/bin/env bash
# Run every test tier CI runs: lint, unit, smoke, slow learning tests, notebooks, browser.
#   bash scripts/test.sh            everything (what .ci/run calls)
#   bash scripts/test.sh -m "not slow and not notebook and not browser"   the fast tier only
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=browser,ray,bench bash scripts/setup.sh  # bench: SB3 for the Atari benchmark smoke test
if ! command -v chromium >/dev/null 2>&1; then
    # The browser test drives Debian's Chromium (playwright cannot download browsers here).
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "warning: could not install chromium; the browser test will fail"
    fi
fi
.venv/bin/ruff check rlkit tests benchmarks notebooks
if [ "$#" -gt 0 ]; then
    exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -p no:cacheprovider --timeout=900
