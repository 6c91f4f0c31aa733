package testlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The lab network. Only this /16 and loopback are ever used: hosts have no
// default route and the root namespace does not forward, so nothing a test
// does inside a host can reach another network.
const (
	LabBridge  = "bgwlab0"    // shared bridge in the root namespace
	LabGateway = "10.231.0.1" // the bridge's (root namespace's) address
	LabNet     = "10.231.0.0/16"
	labPrefix  = "/16"
	netnsBase  = "bgwlab-"     // netns names: bgwlab-N
	vethBase   = "bgwv"        // root-side veth names: bgwvN
	lockDir    = "/run/bgwlab" // cross-process locks (tests of several packages run at once)
	maxSlot    = 250 * 256
)

// slotAddr maps a slot number to 10.231.N/256.N%256.
func slotAddr(n int) string { return fmt.Sprintf("10.231.%d.%d", n/256, n%256) }

// slotMAC is a locally administered MAC naming slot n (10.231.n/256.n%256);
// side 0 is the host's eth0 (and the bridge for n = 1), side 1 the veth.
func slotMAC(side, n int) string {
	return fmt.Sprintf("02:%02x:0a:e7:%02x:%02x", side, n/256, n%256)
}

// allocSlot takes the first free slot. A slot is owned by whoever holds the
// flock on its lock file, so slots of a crashed test run are reusable and
// concurrent test binaries never share an address. The caller must release
// the returned file with releaseLock.
func allocSlot() (int, *os.File, error) {
	for n := 2; n < maxSlot; n++ {
		if n%256 == 0 || n%256 == 255 {
			continue
		}
		f, err := tryLock(filepath.Join(lockDir, "slot-"+strconv.Itoa(n)+".lock"), syscall.LOCK_EX)
		if err != nil {
			return 0, nil, err
		}
		if f == nil {
			continue
		}
		ns := netnsBase + strconv.Itoa(n)
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			// Left by a run that died. If something still lives in it we
			// must not touch it (it is not ours to kill): skip the slot.
			if out, _ := exec.Command("ip", "netns", "pids", ns).Output(); strings.TrimSpace(string(out)) != "" {
				releaseLock(f)
				continue
			}
			_ = exec.Command("ip", "link", "del", vethBase+strconv.Itoa(n)).Run()
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				releaseLock(f)
				return 0, nil, fmt.Errorf("remove stale netns %s: %v: %s", ns, err, out)
			}
		}
		return n, f, nil
	}
	return 0, nil, errors.New("testlab: no free lab address")
}

// tryLock opens path and takes a non-blocking flock; (nil, nil) means
// someone else holds it. It retries when the file it locked was unlinked
// by its previous owner meanwhile, so two owners can never coexist.
func tryLock(path string, how int) (*os.File, error) {
	for {
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, os.ErrNotExist) {
			continue // lockDir removed under us
		}
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, nil
			}
			return nil, err
		}
		if sameFile(f, path) {
			return f, nil
		}
		f.Close()
	}
}

// lockWait takes a blocking flock on path.
func lockWait(path string, how int) (*os.File, error) {
	for {
		if err := os.MkdirAll(lockDir, 0o755); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), how); err != nil {
			f.Close()
			return nil, err
		}
		if sameFile(f, path) {
			return f, nil
		}
		f.Close()
	}
}

func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// releaseLock unlinks the lock file while still holding it, then drops it;
// the last one out also removes the lock directory.
func releaseLock(f *os.File) {
	_ = os.Remove(f.Name())
	f.Close()
	_ = os.Remove(lockDir) // fails while other lock files exist
}

// ipBatch runs `ip [-n ns] -batch -` over lines.
func ipBatch(ns string, lines ...string) error {
	var args []string
	if ns != "" {
		args = append(args, "-n", ns)
	}
	args = append(args, "-batch", "-")
	cmd := exec.Command("ip", args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v: %s\n(commands: %q)", strings.Join(args, " "), err, out, lines)
	}
	return nil
}

// setupNetwork creates netns bgwlab-N with eth0 = 10.231.x.y/16, plugged
// into the shared bridge, which it creates if needed.
func setupNetwork(n int, ns, addr string) error {
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", ns, err, out)
	}
	veth := vethBase + strconv.Itoa(n)
	// Bridge creation, port attachment and the last host's bridge removal
	// are serialised across processes, so the bridge is never deleted
	// between another host's check and its attach.
	lk, err := lockWait(filepath.Join(lockDir, "bridge.lock"), syscall.LOCK_EX)
	if err != nil {
		return err
	}
	// Fixed MACs: a slot's address is reused by later hosts, and neighbour
	// caches (the machine's, other hosts') would otherwise keep the old
	// host's MAC for up to a minute, losing every packet meanwhile. The
	// bridge's MAC is set explicitly so that it does not follow its ports.
	var lines []string
	if _, err := os.Stat("/sys/class/net/" + LabBridge); err != nil {
		lines = append(lines, "link add "+LabBridge+" address "+slotMAC(0, 1)+" type bridge forward_delay 0")
	}
	lines = append(lines,
		"link set "+LabBridge+" address "+slotMAC(0, 1),
		"addr replace "+LabGateway+labPrefix+" dev "+LabBridge,
		"link set "+LabBridge+" up",
		"link add "+veth+" address "+slotMAC(1, n)+" type veth peer name eth0 address "+slotMAC(0, n)+" netns "+ns,
		"link set "+veth+" master "+LabBridge+" up",
	)
	err = ipBatch("", lines...)
	// No IPv6 on the root side: no router solicitations or DAD chatter.
	for _, dev := range []string{LabBridge, veth} {
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+dev+"/disable_ipv6", []byte("1"), 0o644)
	}
	releaseLock(lk)
	if err != nil {
		return err
	}
	return ipBatch(ns,
		"addr add "+addr+labPrefix+" dev eth0",
		"link set eth0 up",
		"link set lo up",
	)
}

// teardownNetwork removes what setupNetwork made; the bridge goes with the
// last host of any process.
func teardownNetwork(n int, ns string) error {
	var errs []error
	veth := vethBase + strconv.Itoa(n)
	if _, err := os.Stat("/sys/class/net/" + veth); err == nil {
		if out, err := exec.Command("ip", "link", "del", veth).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", veth, err, out))
		}
	}
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", ns, err, out))
		}
	}
	lk, err := lockWait(filepath.Join(lockDir, "bridge.lock"), syscall.LOCK_EX)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	ports, err := os.ReadDir("/sys/class/net/" + LabBridge + "/brif")
	if err == nil && len(ports) == 0 {
		if out, err := exec.Command("ip", "link", "del", LabBridge).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("ip link del %s: %v: %s", LabBridge, err, out))
		}
	}
	releaseLock(lk)
	return errors.Join(errs...)
}
