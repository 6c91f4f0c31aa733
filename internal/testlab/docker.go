package testlab

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Docker images StartDocker builds from this machine's files (no registry
// is reachable here): Debian's nginx binary with its libraries, and
// labbackend.
const (
	NginxImage   = "lab/nginx"
	BackendImage = "lab/backend"
)

// RequireDocker skips the test when Debian's docker.io (dockerd) is not
// installed, or fails it under CI.
func RequireDocker(t testing.TB) {
	t.Helper()
	requireTools(t, "docker.io", "dockerd", "docker")
}

// StartDocker runs a Docker engine inside the host, as a host with nginx
// in containers has: its data under the host's private /var/lib/docker
// (the vfs driver: no overlay mounts to leak), no iptables rules (the lab
// has no NAT), and the socket at /run/docker.sock. It loads NginxImage and
// BackendImage and removes every container when the test ends.
func (h *Host) StartDocker() {
	h.t.Helper()
	RequireDocker(h.t)
	// `ip netns exec` gave the host a fresh /sys without the cgroup
	// hierarchies the engine needs: mount the machine's ones again.
	if out, err := h.nsRun(30*time.Second, nil, "/bin/sh", "-c", cgroupMounts()); err != nil {
		h.t.Fatalf("%s: mount cgroups: %v: %s", h.Name, err, out)
	}
	if out, err := h.nsRun(30*time.Second, nil, "/bin/sh", "-c",
		"setsid -f dockerd --iptables=false --ip-masq=false --storage-driver=vfs --log-level=warn </dev/null >>/var/log/dockerd.log 2>&1"); err != nil {
		h.t.Fatalf("%s: start dockerd: %v: %s", h.Name, err, out)
	}
	exited := false
	if err := h.waitFor("dockerd", 60*time.Second, func() (bool, error) {
		if _, err := h.nsRun(10*time.Second, nil, "docker", "version"); err == nil {
			return true, nil
		}
		if _, err := h.nsRun(10*time.Second, nil, "pgrep", "-x", "dockerd"); err != nil {
			exited = true
			return false, fmt.Errorf("dockerd exited")
		}
		return false, nil
	}); err != nil {
		log := tail(h.ReadFile("/var/log/dockerd.log"), 20)
		if exited {
			// The engine refusing to run is this machine's limit (cgroups,
			// kernel features), like a missing systemd: say so loudly, skip.
			h.t.Skipf("%s: this machine cannot run a Docker engine (dockerd exited):\n%s", h.Name, log)
		}
		h.t.Fatalf("%s: %v\n/var/log/dockerd.log:\n%s", h.Name, err, log)
	}
	h.t.Cleanup(func() {
		// Containers first, so their cgroups go with them; then the engine.
		// The cgroup hierarchies are the machine's: leave no empty docker group behind.
		_, _ = h.Exec("ids=$(docker ps -aq); [ -z \"$ids\" ] || docker rm -f $ids >/dev/null; pkill -TERM -x dockerd; " +
			"rmdir /sys/fs/cgroup/*/docker 2>/dev/null; true")
	})
	h.importImage(NginxImage, []string{"/usr/sbin/nginx"}, map[string]string{
		"/etc/nginx/mime.types": "", "/etc/passwd": "root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n",
		"/etc/group": "root:x:0:\nwww-data:x:33:\n",
	}, []string{"/var/log/nginx", "/var/lib/nginx", "/run", "/tmp"})
	h.importImage(BackendImage, []string{h.Paths.BackendBin}, nil, []string{"/tmp"})
}

// cgroupMounts is a script mounting, under /sys/fs/cgroup, the cgroup
// hierarchies the machine has there (v1 controllers or the v2 tree).
func cgroupMounts() string {
	b, _ := os.ReadFile("/proc/self/mounts")
	var script []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[1], "/sys/fs/cgroup") {
			continue
		}
		switch f[2] {
		case "tmpfs":
			if f[1] == "/sys/fs/cgroup" {
				script = append(script, "mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup")
			}
		case "cgroup2":
			script = append(script, fmt.Sprintf("mkdir -p %[1]s && mount -t cgroup2 cgroup2 %[1]s", shellQuote(f[1])))
		case "cgroup":
			var opts []string
			for _, o := range strings.Split(f[3], ",") {
				switch o {
				case "rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec":
				default:
					opts = append(opts, o)
				}
			}
			script = append(script, fmt.Sprintf("mkdir -p %[1]s && mount -t cgroup -o %[2]s cgroup %[1]s", shellQuote(f[1]), shellQuote(strings.Join(opts, ","))))
		}
	}
	return "set -e\n" + strings.Join(script, "\n")
}

// importImage builds a root filesystem from binaries (with the libraries
// ldd names), files ("" copies the machine's file) and empty dirs, inside
// the host's /tmp, and imports it as image name.
func (h *Host) importImage(name string, binaries []string, files map[string]string, dirs []string) {
	h.t.Helper()
	rel := "/tmp/image-" + strings.ReplaceAll(name, "/", "-")
	root := h.stagedPath(rel)
	if root == "" {
		h.t.Fatalf("%s: /tmp is not private to the host", h.Name)
	}
	s := &stager{root: root}
	for _, bin := range binaries {
		machine := bin
		if staged := h.stagedPath(bin); staged != "" {
			machine = staged // a path private to the host, such as labbackend's
		}
		s.copyFile(machine, bin, 0o755)
		out, _ := exec.Command("ldd", machine).Output() // a static binary has no libraries
		for _, f := range strings.Fields(string(out)) {
			if strings.HasPrefix(f, "/") {
				s.copyFile(f, f, 0o755)
			}
		}
	}
	for path, content := range files {
		if content == "" {
			s.copyFile(path, path, 0o644)
		} else {
			s.write(path, content, 0o644, 0, 0)
		}
	}
	for _, d := range dirs {
		s.mkdir(d, 0o755, 0, 0)
	}
	if s.err != nil {
		h.t.Fatalf("image %s: %v", name, s.err)
	}
	h.MustExec(fmt.Sprintf("tar -C %s -c . | docker import - %s >/dev/null && rm -rf %s", shellQuote(rel), shellQuote(name), shellQuote(rel)))
}
