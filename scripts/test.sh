#!/usr/bin/env bash
# Run every test tier CI runs: lint, unit, smoke, slow learning tests, notebooks, browser, ray, grading.
#   bash scripts/test.sh            everything (what .ci/run calls)
#   bash scripts/test.sh -m "not slow and not notebook and not browser and not smoke and not ray and not grading"
#                                   the fast tier only (the README's "Tests" table: same command)
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=browser,ray,logs,export,video,grading,bench bash scripts/setup.sh  # bench: SB3, for the Atari benchmark's smoke test
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
