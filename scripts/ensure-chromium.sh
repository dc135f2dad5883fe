#!/usr/bin/env bash
# The browser test (tests/report/test_html_in_browser.py) renders report.html in Debian's headless Chromium.
# A no-op when `chromium` is on PATH; else install it with apt-get (as root, or through sudo); else say how.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
# A font too: the screenshot's text needs one, and a slim image has none.
packages=(chromium fonts-liberation)
if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: chromium is not on PATH and there is no apt-get; install Chromium by hand" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "ensure-chromium: chromium is not on PATH; run as root: apt-get install -y ${packages[*]}" >&2
    exit 1
fi
echo "ensure-chromium: installing ${packages[*]} with apt-get" >&2
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}"
command -v chromium >/dev/null 2>&1 || {
    echo "ensure-chromium: apt-get finished but chromium is still not on PATH" >&2
    exit 1
}
