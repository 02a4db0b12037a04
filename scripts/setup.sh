#!/usr/bin/env bash
# Create .venv in the repository root if missing and install xorlab into it.
#   scripts/setup.sh          the package and its runtime dependencies
#   scripts/setup.sh --test   also the test tools
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
