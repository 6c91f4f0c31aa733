#!/usr/bin/env bash
# Runs the whole test suite. Installs the Debian packages the tests drive for real
# (sshd, nginx, php-fpm, iptables) when they are missing, so it passes on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have /usr/sbin/sshd || need+=(openssh-server)
have ssh-keygen || need+=(openssh-client)
have /usr/sbin/nginx || need+=(nginx)
have /usr/sbin/php-fpm8.2 || need+=(php8.2-fpm)
have iptables || need+=(iptables)
have ip || need+=(iproute2)
have curl || need+=(curl)
have ss || need+=(iproute2)
have ps || need+=(procps)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing test dependencies: ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
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
