#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard browser test (test/e2e/dashboard.browser.test.ts),
# only when /usr/bin/chromium is missing. Needs root (or sudo) and the Debian package archive.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then as_root=(sudo); fi

"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y chromium
