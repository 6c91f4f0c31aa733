package playbooks

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/badgateway/badgateway/knowledge"
	"github.com/badgateway/badgateway/remote"
)

// DiagnoseOptions tune Diagnose.
type DiagnoseOptions struct {
	Site           string        // narrow to one server_name
	Since          time.Duration // keep log evidence this recent by the host's clock
	Lang           string
	CommandTimeout time.Duration
	OnEvent        func(Event)
}

// Diagnose runs the playbook on r and turns its logs and facts into a diagnosis.
func Diagnose(ctx context.Context, r remote.Runner, pb *Playbook, an *knowledge.Analyzer, o DiagnoseOptions) knowledge.Diagnosis {
	rep := Run(ctx, r, pb, Options{
		OnEvent:        o.OnEvent,
		DefaultTimeout: o.CommandTimeout,
		Vars:           map[string]string{"site": o.Site, "since": dockerSince(o.Since)},
	})
	return FromReport(rep, an, o)
}

// dockerSince is how far back `docker logs` reads: the window and a margin
// for clock skew, and never less than an hour (the window is applied later,
// by the log's own timestamps).
func dockerSince(window time.Duration) string {
	return fmt.Sprintf("%ds", int64(max(time.Hour, window+5*time.Minute)/time.Second))
}

// FromReport builds the diagnosis of a finished run: log steps go through the
// cause matcher within the time window, facts are attached.
func FromReport(rep *Report, an *knowledge.Analyzer, o DiagnoseOptions) knowledge.Diagnosis {
	col := an.NewCollector()
	facts := HostFacts(rep)
	facts.Layout = Layout(facts)
	facts.Site = o.Site
	var now time.Time
	if h := facts.Host; h != nil {
		now = h.Now
		if h.UTCOffset != nil {
			col.Zone = time.FixedZone("host", *h.UTCOffset)
		}
	}
	if !now.IsZero() && o.Since > 0 {
		col.Now, col.Since = now, o.Since
	}
	col.Site = o.Site
	for _, s := range rep.Steps {
		if s.Log == "" || len(s.Stdout) == 0 {
			continue
		}
		for _, part := range splitLogs(s.Stdout, s.Log) {
			// Reading from memory cannot fail.
			_ = col.Feed(bytes.NewReader(part.text), part.name)
		}
	}
	col.AddHostFacts(facts)
	d := col.Diagnosis(knowledge.Options{Target: rep.Target, Lang: o.Lang, Now: now, BaoTa: facts.Layout == "baota"})
	d.Layout = facts.Layout
	d.Facts = rep.Facts()
	for _, note := range []string{notRootNote(rep, facts.Host, o.Lang), containerNote(facts, o.Lang)} {
		if note != "" {
			d.Notes = append(d.Notes, note)
		}
	}
	for _, s := range rep.Steps {
		sr := knowledge.StepReport{ID: s.ID, ExitCode: s.ExitCode, DurationMS: s.Duration.Milliseconds(), Error: s.Error}
		if s.Skipped && s.Error == skipCondition {
			sr.Error, sr.Skipped = "", "condition not met"
		}
		d.Steps = append(d.Steps, sr)
	}
	return d
}

// notRootNote says the diagnosis may be partial when the playbook ran as an
// ordinary user, naming the steps the system refused something.
func notRootNote(rep *Report, h *knowledge.HostInfo, lang string) string {
	if h == nil || h.UID == nil || *h.UID == 0 {
		return ""
	}
	// Only stderr: the logs a step prints on stdout hold nginx's own
	// "(13: Permission denied)" lines, which say nothing about this login.
	var denied []string
	for _, st := range rep.Steps {
		e := st.Stderr
		if bytes.Contains(e, []byte("Permission denied")) || bytes.Contains(e, []byte("Operation not permitted")) ||
			bytes.Contains(e, []byte("nginx -T needs root")) {
			denied = append(denied, st.ID)
		}
	}
	user := cmp.Or(h.User, "uid "+strconv.Itoa(*h.UID))
	if lang == "zh" {
		note := fmt.Sprintf("以 %s 身份运行，而不是 root：nginx -T、监听端口所属的进程和仅 root 可读的日志可能拿不到，因此可能漏掉原因。", user)
		if len(denied) > 0 {
			note += "被拒绝的步骤：" + strings.Join(denied, "、") + "。"
		}
		return note + "要完整诊断，请用 root 登录，或为该主机设置 `sudo: true` 并配置免密 sudo。"
	}
	note := fmt.Sprintf("Ran as %s, not root: nginx -T, the processes behind listening sockets and root-only logs may be out of reach, so causes can be missed.", user)
	if len(denied) > 0 {
		note += " Refused in: " + strings.Join(denied, ", ") + "."
	}
	return note + " For a full diagnosis log in as root, or set `sudo: true` for this host with a passwordless sudo rule."
}

// containerNote says where nginx's configuration is when nginx runs in a
// container: only its logs were read (docker logs).
func containerNote(f knowledge.HostFacts, lang string) string {
	c := f.Nginx
	if c == nil || !c.InContainer {
		return ""
	}
	if c.Container != "" && len(c.Files) > 0 {
		if lang == "zh" {
			return fmt.Sprintf("nginx 运行在容器 %s 中：通过 docker logs 读取了它的日志，通过 docker cp 读取了它的配置文件；主机上的检查（套接字、进程池、直连探测）不适用于容器内的上游。", c.Container)
		}
		return fmt.Sprintf("nginx runs in container %s: its logs were read with docker logs and its configuration files with docker cp; the host-side checks (sockets, pools, probes) do not apply to its upstreams.", c.Container)
	}
	name := "NGINX"
	if names := nginxContainers(f.Containers); len(names) > 0 {
		name = names[0]
	}
	if lang == "zh" {
		return fmt.Sprintf("nginx 运行在容器中：已通过 docker logs 读取它的日志，但它的配置在容器内（`docker exec %s nginx -T`），这里没有检查。", name)
	}
	return fmt.Sprintf("nginx runs in a container: its logs were read with docker logs, but its configuration is inside the container (`docker exec %s nginx -T`) and was not checked.", name)
}

type logPart struct {
	name string
	text []byte
}

// splitLogs cuts a log step's output at the "==> FILE <==" headers it prints.
func splitLogs(out []byte, fallback string) []logPart {
	var parts []logPart
	cur := logPart{name: fallback}
	start := 0
	for pos := 0; pos < len(out); {
		end := bytes.IndexByte(out[pos:], '\n')
		if end < 0 {
			end = len(out)
		} else {
			end += pos
		}
		line := string(out[pos:end])
		if name, ok := fileMarker(line); ok {
			if pos > start {
				cur.text = out[start:pos]
				parts = append(parts, cur)
			}
			cur = logPart{name: strings.TrimSuffix(name, " (missing)")}
			start = min(end+1, len(out))
		}
		pos = end + 1
	}
	if start < len(out) {
		cur.text = out[start:]
		parts = append(parts, cur)
	}
	return parts
}

// Layout names the kind of host: baota, rhel, debian, docker (nginx runs in a
// container) or unknown. /.dockerenv alone says the host itself is a container,
// which does not change where nginx keeps its files.
func Layout(f knowledge.HostFacts) string {
	var h knowledge.HostInfo
	if f.Host != nil {
		h = *f.Host
	}
	if m := nginxMaster(f.Processes); m != nil && strings.HasPrefix(m.Binary, "/www/server/nginx/") {
		return "baota"
	}
	if len(nginxContainers(f.Containers)) > 0 {
		return "docker"
	}
	if h.BaoTa {
		return "baota"
	}
	id := " " + h.OSID + " " + h.OSLike + " "
	switch {
	case strings.Contains(id, " rhel ") || strings.Contains(id, " fedora ") || strings.Contains(id, " centos "):
		return "rhel"
	case strings.Contains(id, " debian ") || strings.Contains(id, " ubuntu "):
		return "debian"
	}
	return "unknown"
}

// HostFacts gathers the typed facts of a run, whatever the steps were called.
func HostFacts(rep *Report) knowledge.HostFacts {
	var f knowledge.HostFacts
	for _, s := range rep.Steps {
		switch v := s.Facts.(type) {
		case knowledge.HostInfo:
			f.Host = &v
		case knowledge.NginxConfig:
			f.Nginx = &v
		case []knowledge.Process:
			f.Processes = v
		case []knowledge.Listener:
			f.Listeners = v
		case []knowledge.ServiceState:
			f.Services = v
		case []knowledge.Filesystem:
			f.Disks = v
		case knowledge.Memory:
			f.Memory = &v
		case []knowledge.Limits:
			f.Limits = v
		case knowledge.SELinux:
			f.SELinux = &v
		case knowledge.FPMConfig:
			f.FPM = &v
		case []knowledge.SocketStat:
			f.Sockets = v
		case []knowledge.Probe:
			f.Probes = v
		case []knowledge.Container:
			f.Containers = v
		case []knowledge.Resolution:
			f.Resolutions = v
		}
	}
	return f
}
