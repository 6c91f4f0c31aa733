package remote

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Fingerprint is the OpenSSH SHA256 fingerprint, e.g. "SHA256:abc…".
func Fingerprint(key ssh.PublicKey) string { return ssh.FingerprintSHA256(key) }

// keyTypeName is the short name OpenSSH prints ("ED25519", "ECDSA", "RSA").
func keyTypeName(typ string) string {
	switch {
	case typ == ssh.KeyAlgoED25519:
		return "ED25519"
	case strings.HasPrefix(typ, "ecdsa-sha2-"):
		return "ECDSA"
	case typ == ssh.KeyAlgoRSA:
		return "RSA"
	case typ == ssh.KeyAlgoSKED25519:
		return "ED25519-SK"
	case typ == ssh.KeyAlgoSKECDSA256:
		return "ECDSA-SK"
	}
	return typ
}

func describeKey(k ssh.PublicKey) string {
	return keyTypeName(k.Type()) + " " + Fingerprint(k)
}

// plainAlgoOrder is OpenSSH's host key preference. It is used for hosts we
// know nothing about, so the key we show or trust is the one `ssh` would.
var plainAlgoOrder = []string{
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

var certAlgoOrder = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
}

// algosForKeyType lists the signature algorithms a key of typ can use.
func algosForKeyType(typ string) []string {
	if typ == ssh.KeyAlgoRSA {
		// ssh-rsa (SHA-1) is left out on purpose: OpenSSH ≥ 8.8 refuses it too.
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{typ}
}

// knownHosts is one known_hosts file, checked by x/crypto's knownhosts.
type knownHosts struct {
	file    string
	missing bool
	check   ssh.HostKeyCallback
	lines   []string // raw file lines, to spot @cert-authority entries
}

func loadKnownHosts(file string) (*knownHosts, error) {
	kh := &knownHosts{file: file}
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		// A missing file means every host is unknown, which is an answer the
		// user can act on ("hosts trust"), not a configuration error.
		kh.missing = true
		kh.check = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
		return kh, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	kh.check, err = knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("parse known_hosts %s: %w", file, err)
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		kh.lines = append(kh.lines, sc.Text())
	}
	return kh, nil
}

// probeKey is a key no known_hosts holds; checking it makes knownhosts
// list every key it has for an address in KeyError.Want.
var probeKey = func() ssh.PublicKey {
	k, err := ssh.NewPublicKey(ed25519.PublicKey(make([]byte, ed25519.PublicKeySize)))
	if err != nil {
		panic(err)
	}
	return k
}()

var probeAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}

// known returns the entries for hostport, using x/crypto's own matching
// (hashed |1| names, [host]:port, wildcards, negation) so the answer can
// never disagree with the check done during the handshake.
func (kh *knownHosts) known(hostport string) []knownhosts.KnownKey {
	var ke *knownhosts.KeyError
	if err := kh.check(hostport, probeAddr, probeKey); errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

func (kh *knownHosts) isCertAuthority(k knownhosts.KnownKey) bool {
	if k.Filename != kh.file || k.Line < 1 || k.Line > len(kh.lines) {
		return false
	}
	return strings.HasPrefix(strings.TrimLeft(kh.lines[k.Line-1], " \t"), "@cert-authority")
}

// algorithms returns the host key algorithms to offer for hostport: only
// the types known_hosts has, or else the server may pick another type it
// also holds and a valid host would look changed. nil means unknown host.
func (kh *knownHosts) algorithms(hostport string) []string {
	want := map[string]bool{}
	for _, k := range kh.known(hostport) {
		if kh.isCertAuthority(k) {
			// A CA's own type says nothing about the host certificate's type.
			for _, a := range certAlgoOrder {
				want[a] = true
			}
			continue
		}
		for _, a := range algosForKeyType(k.Key.Type()) {
			want[a] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	var out []string
	for _, a := range slices.Concat(certAlgoOrder, plainAlgoOrder) {
		if want[a] {
			out = append(out, a)
			delete(want, a)
		}
	}
	for a := range want { // types missing from our order lists, e.g. new ones
		out = append(out, a)
	}
	return out
}

// hostKeyVerdict records what the host key callback saw, so a handshake
// failure can be explained precisely.
type hostKeyVerdict struct {
	offered ssh.PublicKey
	err     *ConnectError
}

// callback verifies the key strictly. There is deliberately no way to
// skip this: an unknown or changed key always fails the connection.
func (kh *knownHosts) callback(hc HostConfig, hostport string, v *hostKeyVerdict) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		v.offered = key
		err := kh.check(hostport, remote, key)
		if err == nil {
			return nil
		}
		v.err = kh.explain(hc, hostport, key, err)
		return v.err
	}
}

func (kh *knownHosts) explain(hc HostConfig, hostport string, key ssh.PublicKey, err error) *ConnectError {
	ce := &ConnectError{Host: hc.Name, Addr: hostport}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &re):
		ce.Kind = HostKeyMismatch
		ce.Err = explain(err, "host key %s is marked @revoked in %s:%d; do not connect until the host's keys are replaced",
			describeKey(key), re.Revoked.Filename, re.Revoked.Line)
	case errors.As(err, &ke) && len(ke.Want) == 0:
		ce.Kind = HostKeyUnknown
		where := kh.file
		if kh.missing {
			where += " (file does not exist)"
		}
		ce.Err = explain(err, "host key not in %s (server offers %s); run 'badgateway hosts trust %s' to review and add it",
			where, describeKey(key), hc.Name)
	case errors.As(err, &ke):
		ce.Kind = HostKeyMismatch
		// Point at the entry of the same type when there is one: that is
		// the line to replace.
		w := ke.Want[0]
		for _, k := range ke.Want {
			if k.Key.Type() == key.Type() {
				w = k
				break
			}
		}
		ce.Err = explain(err, "host key mismatch: server offered %s, known_hosts %s:%d has a different key; "+
			"if the host was reinstalled, verify the fingerprint and replace that line", describeKey(key), w.Filename, w.Line)
	default:
		ce.Kind = HostKeyMismatch
		ce.Err = explain(err, "host key %s rejected: %v", describeKey(key), err)
	}
	return ce
}

// defaultKnownHosts is ~/.ssh/known_hosts.
func defaultKnownHosts() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return ".ssh/known_hosts"
	}
	return filepath.Join(home, ".ssh", "known_hosts")
}

var errKeyCaptured = errors.New("host key captured")

// FetchHostKey connects to hc (through its verified jump hosts), returns
// the host key the server offers and disconnects before authenticating.
// The key is not trusted: show its Fingerprint to the user first.
func FetchHostKey(ctx context.Context, hc HostConfig, opts ...Option) (ssh.PublicKey, error) {
	o := newOptions(opts)
	var captured ssh.PublicKey
	clients, err := dialChain(ctx, hc, o, &captured)
	for i := len(clients) - 1; i >= 0; i-- {
		clients[i].Close()
	}
	if captured != nil {
		return captured, nil
	}
	if err == nil {
		err = errors.New("server offered no host key")
	}
	return nil, err
}

// AddKnownHost appends a known_hosts line for hc's address and port. It
// creates file (0600) if missing, never rewrites existing lines, and does
// nothing when the key is already trusted for that address.
func AddKnownHost(file string, hc HostConfig, key ssh.PublicKey) error {
	hc = hc.withDefaults(nil)
	if file == "" {
		file = hc.KnownHostsFile
	}
	hostport := hc.hostport()
	kh, err := loadKnownHosts(file)
	if err != nil {
		return err
	}
	if kh.check(hostport, probeAddr, key) == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("add known host: %w", err)
	}
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("add known host: %w", err)
	}
	line := knownhosts.Line([]string{knownhosts.Normalize(hostport)}, key) + "\n"
	// Keep the new entry on its own line if the file lacks a final newline.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			line = "\n" + line
		}
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("add known host %s: %w", file, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("add known host %s: %w", file, err)
	}
	return nil
}

func (hc HostConfig) hostport() string {
	return net.JoinHostPort(hc.Address, strconv.Itoa(hc.Port))
}
