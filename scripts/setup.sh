#!/usr/bin/env bash
# Create .venv in the repository root if missing and install xorlab into it.
#   scripts/setup.sh          the package and its runtime dependencies
#   scripts/setup.sh --test   also the test tools (Dask distributed included, for the cluster
#                             tests), and Debian's chromium (the report tests
#                             open the HTML report in it) when it is missing
# Idempotent and quick when nothing changed. torch is pinned to the CPU build that
# this project is developed and tested with; pyproject.toml declares a range.
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
stamp=".venv/.setup-stamp"
if [ "${1:-}" = "--test" ]; then
  extras="[test]"
  stamp=".venv/.setup-stamp-test"
fi

if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "$0" -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${extras}"
  touch "$stamp"
fi

# The report tests drive Debian's chromium through Playwright (no browser download).
if [ -n "$extras" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  else
    echo "setup.sh: /usr/bin/chromium is missing; install Debian's chromium package for the report tests" >&2
    exit 1
  fi
fi
