#!/usr/bin/env bash
# Installs the Debian packages the test suite drives for real (scripts/packages.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
mapfile -t pkgs < <(grep -v '^#' scripts/packages.txt | grep -v '^$')
echo "installing test dependencies: ${pkgs[*]}"
$sudo apt-get update -qq
# The tests start the daemons themselves: keep the packages' scripts from
# starting nginx, php-fpm, sshd or a machine-wide dockerd (its iptables rules
# would get in the lab's way), unless a policy already says so.
policy=/usr/sbin/policy-rc.d
added_policy=""
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
	$sudo chmod 755 "$policy"
	added_policy=1
fi
trap '[ -z "$added_policy" ] || $sudo rm -f "$policy"' EXIT
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
