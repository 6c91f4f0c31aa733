// Command labbackend is the application server of testlab hosts: a tiny
// HTTP/TCP server whose misbehaviour is chosen by -mode, so that nginx in
// front of it fails in the real ways badgateway must recognise.
//
//	ok        answer -status (200) at once
//	slow      read the request, sleep -delay, then answer
//	bigheader answer with a response header of -header-kb KB
//	close     read the request, close without answering
//	reset     read the request, close with SO_LINGER 0 (RST)
//	garbage   answer "HTTP/1.1 400 Bad Request\r\n\r\n" to the first bytes received
//	tls       ok over TLS with a self-signed certificate (-tls does this for any mode)
//
// It listens on -listen (TCP) and/or -unix, then creates -ready (a file the
// harness waits for: probing the port would itself trigger the fault).
//
// "labbackend init CONFIG" is the PID 1 of a testlab host instead: it sets
// the host name, bind-mounts the host's private directories, says "ready"
// on stdout, and reaps orphans so `ps` never shows zombies.
package main

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

var speakFirst bool

type config struct {
	mode     string
	listen   string
	unix     string
	delay    time.Duration
	headerKB int
	status   int
	useTLS   bool
	ready    string
	pidfile  string
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		if len(os.Args) != 3 {
			fmt.Fprintln(os.Stderr, "usage: labbackend init CONFIG.json")
			os.Exit(2)
		}
		if err := runInit(os.Args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "labbackend init:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	flag.StringVar(&c.mode, "mode", "ok", "ok|slow|bigheader|close|reset|garbage|tls")
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8080", "TCP address; empty for none")
	flag.StringVar(&c.unix, "unix", "", "unix socket path (optional)")
	flag.DurationVar(&c.delay, "delay", 5*time.Second, "slow: time before answering")
	flag.IntVar(&c.headerKB, "header-kb", 64, "bigheader: size of the X-Big header in KB")
	flag.IntVar(&c.status, "status", 200, "status code of the answer (ok, slow, bigheader)")
	flag.BoolVar(&c.useTLS, "tls", false, "serve over TLS with a self-signed certificate")
	flag.StringVar(&c.ready, "ready", "", "file to create once listening")
	flag.StringVar(&c.pidfile, "pidfile", "", "file to write the pid to")
	flag.BoolVar(&speakFirst, "speak-first", false, "garbage: write on accept, before the client sends anything (like an SSH or MySQL port)")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix(fmt.Sprintf("labbackend[%d] ", os.Getpid()))
	if err := serve(c); err != nil {
		log.Fatal(err)
	}
}

func serve(c config) error {
	if c.mode == "tls" {
		c.mode, c.useTLS = "ok", true
	}
	switch c.mode {
	case "ok", "slow", "bigheader", "close", "reset", "garbage":
	default:
		return fmt.Errorf("unknown -mode %q", c.mode)
	}
	var lns []net.Listener
	if c.listen != "" {
		ln, err := net.Listen("tcp", c.listen)
		if err != nil {
			return err
		}
		lns = append(lns, ln)
	}
	if c.unix != "" {
		_ = os.Remove(c.unix) // a socket left by a killed predecessor
		ln, err := net.Listen("unix", c.unix)
		if err != nil {
			return err
		}
		// nginx's workers run as an unprivileged user.
		if err := os.Chmod(c.unix, 0o666); err != nil {
			return err
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return errors.New("neither -listen nor -unix given")
	}
	if c.useTLS {
		cfg, err := selfSigned()
		if err != nil {
			return err
		}
		for i, ln := range lns {
			lns[i] = tls.NewListener(ln, cfg)
		}
	}
	if c.pidfile != "" {
		if err := os.WriteFile(c.pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return err
		}
	}
	if c.ready != "" {
		if err := os.WriteFile(c.ready, nil, 0o644); err != nil {
			return err
		}
	}
	for _, ln := range lns {
		log.Printf("mode %s listening on %s %s (tls=%v)", c.mode, ln.Addr().Network(), ln.Addr(), c.useTLS)
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func(ln net.Listener) {
			switch c.mode {
			case "ok", "slow", "bigheader":
				srv := &http.Server{Handler: httpHandler(c), ReadHeaderTimeout: time.Minute}
				errc <- srv.Serve(ln)
			default:
				errc <- rawServe(ln, c.mode)
			}
		}(ln)
	}
	return <-errc
}

func httpHandler(c config) http.Handler {
	big := ""
	if c.mode == "bigheader" {
		big = strings.Repeat("x", c.headerKB*1024)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s %s from %s", c.mode, r.Method, r.URL, r.RemoteAddr)
		if c.mode == "slow" {
			select {
			case <-time.After(c.delay):
			case <-r.Context().Done():
				log.Printf("client went away after %v", c.delay)
				return
			}
		}
		if big != "" {
			w.Header().Set("X-Big", big)
		}
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(c.status)
		fmt.Fprintf(w, "labbackend %s\n", c.mode)
	})
}

// rawServe handles the modes that break HTTP, which net/http cannot do.
func rawServe(ln net.Listener, mode string) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go rawConn(conn, mode)
	}
}

func rawConn(conn net.Conn, mode string) {
	defer conn.Close()
	log.Printf("%s: connection from %s", mode, conn.RemoteAddr())
	if mode == "garbage" {
		// Answer the first bytes at once, whatever they are: a FastCGI or
		// TLS client then reads 'H' where it expects its own protocol's
		// first byte. Waiting for those bytes matters: an answer that
		// arrives before nginx has sent anything gives "upstream
		// prematurely sent response" instead (-speak-first shows that).
		if !speakFirst {
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _ = conn.Read(make([]byte, 4096))
		}
		_, _ = conn.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		// Drain instead of closing at once: closing with unread input makes
		// the kernel send RST, which could overtake the answer's meaning.
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = bytesDiscard(conn)
		return
	}
	readRequest(conn)
	if mode == "reset" {
		if tc, ok := underlyingTCP(conn); ok {
			_ = tc.SetLinger(0) // close sends RST instead of FIN
		}
	}
}

// readRequest reads up to the end of the request header (or 64 KB, or 10 s).
func readRequest(conn net.Conn) {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for len(got) < 64<<10 && !bytes.Contains(got, []byte("\r\n\r\n")) {
		n, err := conn.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	line, _, _ := bufio.NewReader(bytes.NewReader(got)).ReadLine()
	log.Printf("read %d bytes: %q", len(got), line)
}

func bytesDiscard(conn net.Conn) (int, error) {
	total := 0
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		total += n
		if err != nil {
			return total, err
		}
	}
}

func underlyingTCP(conn net.Conn) (*net.TCPConn, bool) {
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	tc, ok := conn.(*net.TCPConn)
	return tc, ok
}

func selfSigned() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host, "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, nil
}
