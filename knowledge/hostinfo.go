package knowledge

import (
	"strings"
	"time"
)

// HostInfo is what the host says about itself: name, clock, size, distribution.
type HostInfo struct {
	Hostname string `json:"hostname,omitempty"`
	// Now is the host's wall clock, read as UTC like every zone-less log time, so
	// that "the last 15 minutes" compares like with like.
	Now time.Time `json:"now"`
	// UTCOffset is date +%z in seconds east of UTC; nil when the host did not say.
	UTCOffset *int    `json:"utc_offset,omitempty"`
	CPUs      int     `json:"cpus,omitempty"`
	Load1     float64 `json:"load1"`
	Load5     float64 `json:"load5"`
	Load15    float64 `json:"load15"`
	OSID      string  `json:"os_id,omitempty"` // /etc/os-release ID: debian, ubuntu, rhel, centos, rocky…
	OSLike    string  `json:"os_like,omitempty"`
	OSVersion string  `json:"os_version,omitempty"`
	OSName    string  `json:"os_name,omitempty"`
	BaoTa     bool    `json:"baota,omitempty"`     // /www/server/panel exists
	Container string  `json:"container,omitempty"` // "docker" when /.dockerenv exists
	// User and UID are who the playbook ran as (after sudo); UID is nil when unknown.
	User string `json:"user,omitempty"`
	UID  *int   `json:"uid,omitempty"`
}

// Probe is a direct TCP connection attempt from the host to an upstream.
type Probe struct {
	Target string `json:"target"` // host:port
	Result string `json:"result"` // open, timeout, error, unknown
	Detail string `json:"detail,omitempty"`
}

// Container is one running or stopped container from `docker ps -a`.
type Container struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Image  string `json:"image"`
	Status string `json:"status"` // "Up 3 hours", "Exited (137) 5 minutes ago"
	Ports  string `json:"ports,omitempty"`
}

// Running reports whether the container is up.
func (c Container) Running() bool { return len(c.Status) >= 2 && c.Status[:2] == "Up" }

// Nginx reports whether the container's image or name says nginx (nginx,
// openresty, bitnami/nginx, nginx-proxy…).
func (c Container) Nginx() bool {
	return strings.Contains(c.Image, "nginx") || strings.Contains(c.Image, "openresty") || strings.Contains(c.Name, "nginx")
}

// Resolution is what an upstream name resolves to on the host now.
type Resolution struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"` // empty: it does not resolve
}
