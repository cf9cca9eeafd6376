#!/usr/bin/env bash
# Installs Debian's Chromium for the status page's browser test
# (shared/status/browsertest). It is not on a fresh machine; the test
# fails, naming this script, when /usr/bin/chromium is missing.
#
# Chromium comes from Debian's packages, never from a test tool's own
# browser download (npx playwright install cannot reach its CDN here).
# Idempotent: does nothing when chromium is already installed. Uses sudo
# only when not root. Environment: GALSYNC_CHROMIUM (the browser binary
# the test uses; default /usr/bin/chromium).
set -euo pipefail

bin=${GALSYNC_CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
	echo "install-chromium: $("$bin" --version 2>/dev/null || echo "$bin") already installed"
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "install-chromium: not root and no sudo; run as root: apt-get install -y chromium" >&2
		exit 1
	fi
	sudo=(sudo)
fi

start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be missing or stale.
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q chromium
echo "install-chromium: $(/usr/bin/chromium --version) installed in $(($(date +%s) - start))s"
