#!/usr/bin/env bash
# Wall time of the nginx-502 playbook on N sshd hosts on 127.0.0.1, side by side:
#   badgateway diagnose (one in-process SSH connection per host, steps in parallel),
#   plain ssh running the same scripts in one session per host (the practical floor),
#   ansible -m shell with the same scripts.
# Usage: bash bench/ssh.sh            (N=1 and N=50, 3 runs each, median)
#        N_LIST="1 20" RUNS=5 bash bench/ssh.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N_LIST=${N_LIST:-"1 50"}
RUNS=${RUNS:-3}
BASE_PORT=${BASE_PORT:-23000}
max_n=0
for n in $N_LIST; do [ "$n" -gt "$max_n" ] && max_n=$n; done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/badgateway" .
ssh-keygen -q -t ed25519 -N '' -f "$work/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$work/client"
cp "$work/client.pub" "$work/authorized_keys"
mkdir -p /run/sshd "$work/home"
: >"$work/known_hosts"
{
	echo "ssh:"
	echo "  user: root"
	echo "  identity_files: [$work/client]"
	echo "  known_hosts: $work/known_hosts"
	echo "hosts:"
} >"$work/config.yaml"
for i in $(seq 1 "$max_n"); do
	port=$((BASE_PORT + i))
	cat >"$work/sshd_$i.conf" <<CONF
ListenAddress 127.0.0.1
Port $port
HostKey $work/hostkey
PidFile $work/sshd_$i.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
StrictModes no
UsePAM no
MaxSessions 20
MaxStartups 200
LogLevel ERROR
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
	# A private, empty /root: this machine's root .bashrc (pyenv init) costs ~100 ms per
	# SSH session, which a typical server does not have.
	unshare --mount --propagation private sh -c 'mount --bind "$1" /root && exec /usr/sbin/sshd -D -f "$2" -E "$3"' \
		sh "$work/home" "$work/sshd_$i.conf" "$work/sshd_$i.log" &
	pids+=($!)
	echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/hostkey.pub")" >>"$work/known_hosts"
	printf '  - name: bench-%03d\n    address: 127.0.0.1\n    port: %d\n' "$i" "$port" >>"$work/config.yaml"
done
for i in $(seq 1 "$max_n"); do
	port=$((BASE_PORT + i))
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
done

# The exact scripts badgateway runs, rendered from this machine's facts, each in a subshell.
"$work/badgateway" playbook run bench-001 --config "$work/config.yaml" >/dev/null 2>"$work/run.err" || { cat "$work/run.err" >&2; exit 1; }
"$work/badgateway" playbook run bench-001 --config "$work/config.yaml" |
	python3 -c '
import json, sys
d = json.load(sys.stdin)
print("\n".join("(\n%s\n) 2>&1" % s["script"] for s in d["steps"] if s.get("script")))
' >"$work/script.sh"
steps=$(grep -c '^($' "$work/script.sh")

ssh_opts=(-q -o BatchMode=yes -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes -i "$work/client" -l root)
{
	echo "[bench]"
	for i in $(seq 1 "$max_n"); do echo "bench-$(printf %03d "$i") ansible_host=127.0.0.1 ansible_port=$((BASE_PORT + i))"; done
} >"$work/inventory.ini"
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_SSH_ARGS="-o UserKnownHostsFile=$work/known_hosts -o ControlMaster=no" ANSIBLE_PYTHON_INTERPRETER=auto_silent
have_ansible=1
command -v ansible >/dev/null || have_ansible=0

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

printf '%s steps per host, %s runs each, median wall time in seconds\n\n' "$steps" "$RUNS"
printf '%-6s %-22s %-22s %-22s %s\n' hosts "badgateway (max RSS)" "plain ssh, N-wide" "ansible -m shell" "badgateway vs ssh / vs ansible"
for n in $N_LIST; do
	plain=() ans=()
	# badgateway selects hosts by glob; run it on exactly n hosts.
	bgw=() rss=()
	sel=$(seq -f 'bench-%03g' 1 "$n" | tr '\n' ' ')
	for _ in $(seq 1 "$RUNS"); do
		t0=$(now)
		# shellcheck disable=SC2086
		/usr/bin/time -f '%M' -o "$work/rss" "$work/badgateway" diagnose $sel --config "$work/config.yaml" --format json --quiet >"$work/out.json" 2>/dev/null || true
		bgw+=("$(echo "$(now) - $t0" | bc)")
		rss+=("$(cat "$work/rss")")
	done
	for _ in $(seq 1 "$RUNS"); do
		t0=$(now)
		sshs=()
		for i in $(seq 1 "$n"); do
			ssh "${ssh_opts[@]}" -p $((BASE_PORT + i)) 127.0.0.1 "$(cat "$work/script.sh")" >/dev/null 2>&1 &
			sshs+=($!)
		done
		wait "${sshs[@]}" || true
		plain+=("$(echo "$(now) - $t0" | bc)")
	done
	if [ "$have_ansible" = 1 ]; then
		for _ in $(seq 1 "$RUNS"); do
			t0=$(now)
			ansible "bench[0:$((n - 1))]" -i "$work/inventory.ini" -u root --private-key "$work/client" -f "$n" \
				-m shell -a "{% raw %}$(cat "$work/script.sh"){% endraw %}" >"$work/ansible.out" 2>&1 || true
			ans+=("$(echo "$(now) - $t0" | bc)")
			if grep -q -E '^[^ ]+ \| (FAILED|UNREACHABLE)|^ERROR' "$work/ansible.out"; then
				echo "ansible failed; its output:" >&2
				head -n 20 "$work/ansible.out" >&2
				exit 1
			fi
		done
	fi
	b=$(printf '%s\n' "${bgw[@]}" | median)
	r=$(printf '%s\n' "${rss[@]}" | median)
	p=$(printf '%s\n' "${plain[@]}" | median)
	a=n/a
	[ ${#ans[@]} -gt 0 ] && a=$(printf '%.2f' "$(printf '%s\n' "${ans[@]}" | median)")
	ratio=$(echo "scale=2; $b / $p" | bc)
	aratio=n/a
	[ "$a" != n/a ] && aratio=$(echo "scale=1; $a / $b" | bc)
	printf '%-6s %-22s %-22s %-22s %s× ssh, ansible %s× slower\n' "$n" "$(printf '%.2f (%d MB)' "$b" $((r / 1024)))" "$(printf '%.2f' "$p")" "$a" "$ratio" "$aratio"
done
