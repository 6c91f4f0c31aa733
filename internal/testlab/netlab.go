package testlab

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
		f, err := tryLock(slotLockPath(n), syscall.LOCK_EX)
		if err != nil {
			return 0, nil, err
		}
		if f == nil {
			continue
		}
		if err := cleanSlot(n, f); err != nil {
			releaseLock(f)
			if errors.Is(err, errBusy) {
				continue
			}
			return 0, nil, err
		}
		return n, f, nil
	}
	return 0, nil, errors.New("testlab: no free lab address")
}

func slotLockPath(n int) string { return filepath.Join(lockDir, "slot-"+strconv.Itoa(n)+".lock") }

var errBusy = errors.New("processes still live in the netns")

// cleanSlot removes what a host of a test binary that died (SIGKILL, a
// timeout panic) left in slot n, whose lock the caller holds: its
// processes died with it, but not its netns, veth and staging dir (named
// in the lock file). A netns in which something still lives is not ours
// to clean (errBusy).
func cleanSlot(n int, lock *os.File) error {
	ns := netnsBase + strconv.Itoa(n)
	if _, err := os.Stat("/run/netns/" + ns); err == nil {
		if out, _ := exec.Command("ip", "netns", "pids", ns).Output(); strings.TrimSpace(string(out)) != "" {
			return errBusy
		}
		_ = exec.Command("ip", "link", "del", vethBase+strconv.Itoa(n)).Run()
		if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
			return fmt.Errorf("remove stale netns %s: %v: %s", ns, err, out)
		}
	}
	b, _ := os.ReadFile(lock.Name())
	if dir := strings.TrimSpace(string(b)); dir != "" && filepath.Dir(dir) == filepath.Clean(os.TempDir()) &&
		strings.HasPrefix(filepath.Base(dir), "bgwlab-") {
		_ = os.RemoveAll(dir)
	}
	return lock.Truncate(0)
}

var sweepOnce sync.Once

// sweepStale cleans, once per process, every slot left by dead test
// binaries (allocSlot only cleans the slots it happens to take), then the
// bridge and /www if nothing uses them any more.
func sweepStale() {
	sweepOnce.Do(func() {
		slots := map[int]bool{}
		ents, _ := os.ReadDir("/run/netns")
		for _, e := range ents {
			if rest, ok := strings.CutPrefix(e.Name(), netnsBase); ok {
				if n, err := strconv.Atoi(rest); err == nil {
					slots[n] = true
				}
			}
		}
		locks, _ := filepath.Glob(filepath.Join(lockDir, "slot-*.lock"))
		for _, l := range locks {
			if n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(l), "slot-"), ".lock")); err == nil {
				slots[n] = true
			}
		}
		for n := range slots {
			if f, err := tryLock(slotLockPath(n), syscall.LOCK_EX); err == nil && f != nil {
				_ = cleanSlot(n, f)
				releaseLock(f)
			}
		}
		if lk, err := lockWait(filepath.Join(lockDir, "bridge.lock"), syscall.LOCK_EX); err == nil {
			if ports, err := os.ReadDir("/sys/class/net/" + LabBridge + "/brif"); err == nil && len(ports) == 0 {
				_ = exec.Command("ip", "link", "del", LabBridge).Run()
			}
			releaseLock(lk)
		}
		if ex, err := tryLock(filepath.Join(lockDir, "www.lock"), syscall.LOCK_EX); err == nil && ex != nil {
			_ = os.Remove("/www") // only while empty
			releaseLock(ex)
		}
		sweepStaleBinaries()
	})
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
