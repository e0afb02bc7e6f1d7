#!/usr/bin/env bash
# Make Debian's headless Chromium available for the HTML report test (test/report/html-chromium.test.ts).
# Installs the `chromium` package with apt-get when it is missing and we are root; otherwise says
# so and exits 0: the test then skips with a visible message. Never downloads a browser build of
# its own (playwright-core drives this system Chromium).
set -uo pipefail
BIN="${TRAILHOUND_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$BIN" ]; then
  echo "ensure-chromium: $("$BIN" --version 2>/dev/null || echo "$BIN") is installed"
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "ensure-chromium: $BIN is missing and we are not root: the Chromium test of the HTML report will be skipped"
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $BIN is missing and there is no apt-get: the Chromium test of the HTML report will be skipped"
  exit 0
fi
echo "ensure-chromium: installing Debian's chromium package (apt-get)"
export DEBIAN_FRONTEND=noninteractive
if apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/tmp/ensure-chromium.log 2>&1; then
  echo "ensure-chromium: $("$BIN" --version 2>/dev/null || echo installed)"
else
  echo "ensure-chromium: apt-get could not install chromium (see /tmp/ensure-chromium.log): the Chromium test will be skipped"
  tail -5 /tmp/ensure-chromium.log 2>/dev/null || true
fi
exit 0
