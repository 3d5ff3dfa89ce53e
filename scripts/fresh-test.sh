#!/usr/bin/env bash
# The README's test command and what CI runs (.ci/run): on a fresh machine, install what the tests need and run them.
# - Debian's headless Chromium for the web page's tests (test/server/page.test.ts), when it is missing;
# - exactly the npm packages the lockfile pins (npm ci, which also compiles the TypeScript);
# - then the whole suite, with the browser tests required rather than skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
export ACCD_REQUIRE_BROWSER=1
npm ci --no-audit --no-fund
npm test
