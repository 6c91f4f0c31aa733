#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (scripts/packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
mapfile -t pkgs < <(grep -v '^#' scripts/packages.txt | grep -v '^$')
echo "installing test dependencies: ${pkgs[*]}"
$sudo apt-get update -qq
# Their services are not started here (no systemd); the tests start the daemons themselves.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
