#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the tests drive for real
# (sshd, nginx, php-fpm, iptables, sudo, docker) when they are missing, so it passes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# The packages are listed once, in scripts/packages.txt; install them when any
# tool the suite drives is missing (.ci/run installs them unconditionally).
missing=0
for tool in /usr/sbin/sshd ssh-keygen /usr/sbin/nginx /usr/sbin/php-fpm8.2 iptables ip curl ss ps unshare nsenter sudo dockerd; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || missing=1
done
if [ "$missing" = 1 ]; then
	bash scripts/install-packages.sh
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "not gofmt'ed: $unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...

echo "== fuzz (brief)"
fuzztime=${FUZZTIME:-10s}
# A crash the fuzzer finds is saved under testdata/fuzz and fails the retry too;
# a one-off hiccup of the fuzzing engine on a loaded machine does not.
fuzz() {
	go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" "$2" ||
		{ echo "retrying $1 once"; go test -run '^$' -fuzz "^$1\$" -fuzztime "$fuzztime" "$2"; }
}
fuzz FuzzParseLine ./knowledge/
fuzz FuzzExplain ./knowledge/
fuzz FuzzParse ./bot/
fuzz FuzzParseNginxT ./playbooks/

echo "== go test -race"
go test -race -count=1 -timeout 20m ./...
