package testlab

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Paths are where a host's layout keeps things, as seen inside the host.
type Paths struct {
	NginxBin, NginxConf, NginxPIDFile string
	SiteConf                          string // the spec's Site goes here
	ErrorLog, AccessLog               string // the site's logs
	FPMBin, FPMConf, FPMPoolConf      string // FPMPoolConf == FPMConf on baota (one file)
	FPMLog, FPMPIDFile                string
	FPMListen                         string // the pool's listen value
	FPMSock                           string // FPMListen when it is a unix socket, else ""
	DocRoot                           string // holds index.php: <?php echo "ok";
	WebUser                           string // nginx workers' and the pool's user
	SSHDLog, BackendLog, BackendBin   string
}

// Private directories every host gets (bind-mounted from its staging dir).
// Everything else is the machine's own filesystem, for reading only.
var commonBinds = []string{"/etc/nginx", "/etc/php/8.2/fpm", "/etc/ssh", "/var/log",
	"/run", "/var/lib/nginx", "/srv", "/tmp", "/root"}

const (
	debianFPM  = "/usr/sbin/php-fpm8.2"
	stockNginx = "/usr/sbin/nginx"
	btPHP      = "/www/server/php/82"
	btNginx    = "/www/server/nginx"
	btPanel    = "/www/server/panel"
)

func layoutPaths(layout, site, pool string) Paths {
	p := Paths{
		SSHDLog:    "/var/log/sshd.log",
		BackendLog: "/var/log/labbackend.log",
		BackendBin: "/srv/labbackend/labbackend",
	}
	switch layout {
	case "baota", "aapanel":
		p.NginxBin, p.NginxConf = btNginx+"/sbin/nginx", btNginx+"/conf/nginx.conf"
		p.NginxPIDFile = btNginx + "/logs/nginx.pid"
		p.SiteConf = btPanel + "/vhost/nginx/" + site + ".conf"
		p.ErrorLog, p.AccessLog = "/www/wwwlogs/"+site+".error.log", "/www/wwwlogs/"+site+".log"
		p.FPMBin, p.FPMConf = btPHP+"/sbin/php-fpm", btPHP+"/etc/php-fpm.conf"
		p.FPMPoolConf = p.FPMConf
		p.FPMLog, p.FPMPIDFile = btPHP+"/var/log/php-fpm.log", btPHP+"/var/run/php-fpm.pid"
		p.DocRoot, p.WebUser = "/www/wwwroot/"+site, "www"
		if pool == "" {
			pool = btPool
		}
	default:
		p.NginxBin, p.NginxConf, p.NginxPIDFile = stockNginx, "/etc/nginx/nginx.conf", "/run/nginx.pid"
		p.SiteConf = "/etc/nginx/sites-available/" + site
		p.ErrorLog, p.AccessLog = "/var/log/nginx/error.log", "/var/log/nginx/access.log"
		p.FPMBin, p.FPMConf = debianFPM, "/etc/php/8.2/fpm/php-fpm.conf"
		p.FPMPoolConf = "/etc/php/8.2/fpm/pool.d/www.conf"
		p.FPMLog, p.FPMPIDFile = "/var/log/php8.2-fpm.log", "/run/php/php8.2-fpm.pid"
		p.DocRoot, p.WebUser = "/var/www/html", "www-data"
		if pool == "" {
			if b, err := os.ReadFile(p.FPMPoolConf); err == nil {
				pool = string(b)
			}
		}
	}
	p.FPMListen = poolListen(pool)
	if strings.HasPrefix(p.FPMListen, "/") {
		p.FPMSock = p.FPMListen
	}
	return p
}

var listenRE = regexp.MustCompile(`(?m)^[ \t]*listen[ \t]*=[ \t]*(\S+)`)

func poolListen(pool string) string {
	if m := listenRE.FindStringSubmatch(pool); m != nil {
		return strings.Trim(m[1], `"'`)
	}
	return ""
}

// fpmCommand is how the layout starts php-fpm (as its service would);
// with "-t" appended it tests the configuration.
func (h *Host) fpmCommand() []string {
	if h.Layout == "debian" {
		return []string{debianFPM, "--daemonize", "--fpm-config", h.Paths.FPMConf}
	}
	return []string{h.Paths.FPMBin, "--daemonize", "--fpm-config", h.Paths.FPMConf,
		"--pid", h.Paths.FPMPIDFile, "--prefix", btPHP, "-c", btPHP + "/etc/php.ini"}
}

func (h *Host) nginxCommand() []string {
	return []string{h.Paths.NginxBin, "-c", h.Paths.NginxConf}
}

// stager builds a host's private trees under root (root+"/etc/nginx" is
// mounted on /etc/nginx, ...). It never follows a symlink when writing, so
// a copied absolute link cannot make it write to the machine's own files.
type stager struct {
	root          string
	err           error
	passwd, group []string // accounts the layout adds to the machine's
}

func (s *stager) path(p string) string { return filepath.Join(s.root, p) }

func (s *stager) fail(err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}

func (s *stager) mkdir(p string, mode os.FileMode, uid, gid int) {
	if s.err != nil {
		return
	}
	d := s.path(p)
	s.fail(os.MkdirAll(d, 0o755))
	// syscall.Chmod: os.Chmod would drop the sticky bit of 0o1777.
	s.fail(syscall.Chmod(d, uint32(mode)))
	s.fail(os.Lchown(d, uid, gid))
}

func (s *stager) write(p, content string, mode os.FileMode, uid, gid int) {
	if s.err != nil {
		return
	}
	f := s.path(p)
	s.fail(os.MkdirAll(filepath.Dir(f), 0o755))
	if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.fail(err)
	}
	s.fail(os.WriteFile(f, []byte(content), mode))
	s.fail(os.Chmod(f, mode))
	s.fail(os.Lchown(f, uid, gid))
}

func (s *stager) symlink(target, p string) {
	if s.err != nil {
		return
	}
	f := s.path(p)
	if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.fail(err)
	}
	s.fail(os.Symlink(target, f))
}

// copyTree copies the machine's src to p, keeping modes, owners and
// symlinks (as links); skip filters by path relative to src.
func (s *stager) copyTree(src, p string, skip func(rel string) bool) {
	if s.err != nil {
		return
	}
	dst := s.path(p)
	s.fail(filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		to := filepath.Join(dst, rel)
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, to); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.MkdirAll(to, 0o755); err != nil {
				return err
			}
			if err := os.Chmod(to, fi.Mode().Perm()|fi.Mode()&(fs.ModeSticky|fs.ModeSetgid)); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := copyFile(path, to, fi.Mode().Perm()); err != nil {
				return err
			}
		default:
			return nil // sockets, fifos: not part of a stock tree
		}
		if st, ok := statOwner(fi); ok {
			return os.Lchown(to, st[0], st[1])
		}
		return nil
	}))
}

// copyFile copies one regular file (used for binaries as well).
func (s *stager) copyFile(src, p string, mode os.FileMode) {
	if s.err != nil {
		return
	}
	dst := s.path(p)
	s.fail(os.MkdirAll(filepath.Dir(dst), 0o755))
	s.fail(copyFile(src, dst, mode))
}

// linkFile hard-links src into the tree (falling back to a copy): for
// labbackend, which is rebuilt, never edited in place.
func (s *stager) linkFile(src, p string) {
	if s.err != nil {
		return
	}
	dst := s.path(p)
	s.fail(os.MkdirAll(filepath.Dir(dst), 0o755))
	if os.Link(src, dst) != nil {
		s.fail(copyFile(src, dst, 0o755))
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// account is a line of /etc/passwd or /etc/group.
type account struct{ uid, gid int }

// lookupIDs reads name's ids from the machine's /etc/passwd and group
// (group gid when name is only a group). ok is false when unknown.
func lookupIDs(name string) (account, bool) {
	a, okU := account{}, false
	if f, err := os.Open("/etc/passwd"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fl := strings.Split(sc.Text(), ":")
			if len(fl) > 3 && fl[0] == name {
				a.uid, _ = strconv.Atoi(fl[2])
				a.gid, _ = strconv.Atoi(fl[3])
				okU = true
			}
		}
	}
	if !okU {
		if g, ok := lookupGroup(name); ok {
			return account{uid: 0, gid: g}, true
		}
	}
	return a, okU
}

func lookupGroup(name string) (int, bool) {
	b, err := os.ReadFile("/etc/group")
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		fl := strings.Split(l, ":")
		if len(fl) > 2 && fl[0] == name {
			g, err := strconv.Atoi(fl[2])
			return g, err == nil
		}
	}
	return 0, false
}

// Login users every lab host has besides root, with the client key
// authorised: SudoUser may run anything through `sudo -n` and reads the
// logs through the adm group, as admins on Debian do; PlainUser may do
// neither.
const (
	SudoUser  = "deploy"
	PlainUser = "intern"
)

// stageAccounts writes the host's private passwd, group and shadow (the
// machine's accounts, the layout's and the two login users; shadow holds
// no password of anyone), sudoers, homes, and an /etc/hosts entry for the
// host's own name, which sudo looks up. It returns the files to bind.
func stageAccounts(s *stager, h *Host, deploy, intern int) []string {
	s.passwd = append(s.passwd,
		fmt.Sprintf("%s:x:%d:%d::/home/%s:/bin/bash", SudoUser, deploy, deploy, SudoUser),
		fmt.Sprintf("%s:x:%d:%d::/home/%s:/bin/bash", PlainUser, intern, intern, PlainUser))
	s.group = append(s.group, fmt.Sprintf("%s:x:%d:", SudoUser, deploy), fmt.Sprintf("%s:x:%d:", PlainUser, intern))
	passwd, err := appendToCopy("/etc/passwd", strings.Join(s.passwd, "\n")+"\n")
	s.fail(err)
	machineGroups, err := os.ReadFile("/etc/group")
	s.fail(err)
	var groups []string
	for _, l := range strings.Split(strings.TrimRight(string(machineGroups), "\n"), "\n") {
		if strings.HasPrefix(l, "adm:") {
			if !strings.HasSuffix(l, ":") {
				l += ","
			}
			l += SudoUser
		}
		groups = append(groups, l)
	}
	groups = append(groups, s.group...)
	var shadow []string
	for _, l := range strings.Split(strings.TrimSpace(passwd), "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok {
			shadow = append(shadow, name+":*:20000:0:99999:7:::")
		}
	}
	shadowGID, _ := lookupGroup("shadow")
	s.write("/etc/passwd", passwd, 0o644, 0, 0)
	s.write("/etc/group", strings.Join(groups, "\n")+"\n", 0o644, 0, 0)
	s.write("/etc/shadow", strings.Join(shadow, "\n")+"\n", 0o640, 0, shadowGID)
	s.mkdir("/home", 0o755, 0, 0)
	s.mkdir("/home/"+SudoUser, 0o755, deploy, deploy)
	s.mkdir("/home/"+PlainUser, 0o755, intern, intern)
	for _, u := range []string{SudoUser, PlainUser} {
		s.write("/etc/ssh/authorized_keys/"+u, h.clientPub, 0o644, 0, 0)
	}
	binds := []string{"/etc/passwd", "/etc/group", "/etc/shadow", "/home"}
	if _, err := os.Stat("/etc/sudoers"); err == nil {
		s.write("/etc/sudoers", fmt.Sprintf(`Defaults env_reset
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
root ALL=(ALL:ALL) ALL
%s ALL=(root) NOPASSWD: ALL
`, SudoUser), 0o440, 0, 0)
		binds = append(binds, "/etc/sudoers")
	}
	return binds
}

// freeIDs are the first n ids from 1000 used by neither passwd nor group,
// as useradd would pick them.
func freeIDs(n int) []int {
	var out []int
	skip := map[int]bool{}
	for range n {
		id := freeID(skip)
		skip[id] = true
		out = append(out, id)
	}
	return out
}

func freeID(skip map[int]bool) int {
	used := map[int]bool{}
	for _, f := range []string{"/etc/passwd", "/etc/group"} {
		b, _ := os.ReadFile(f)
		for _, l := range strings.Split(string(b), "\n") {
			fl := strings.Split(l, ":")
			if len(fl) > 2 {
				if n, err := strconv.Atoi(fl[2]); err == nil {
					used[n] = true
				}
			}
		}
	}
	id := 1000
	for used[id] || skip[id] {
		id++
	}
	return id
}

func appendToCopy(src, extra string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", err
	}
	s := string(b)
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s + extra, nil
}

// stageCommon: the parts both layouts share (sshd, empty run/log dirs,
// labbackend).
func stageCommon(s *stager, h *Host, labBin string) {
	s.copyTree("/etc/ssh", "/etc/ssh", func(rel string) bool {
		return strings.HasPrefix(rel, "ssh_host_") // the machine's secrets stay out
	})
	s.write("/etc/ssh/sshd_config", sshdConfig, 0o644, 0, 0)
	s.write("/etc/ssh/ssh_host_ed25519_key", string(h.hostKeyPEM), 0o600, 0, 0)
	s.write("/etc/ssh/ssh_host_ed25519_key.pub", h.hostKeyPub, 0o644, 0, 0)
	s.write("/etc/ssh/authorized_keys/root", h.clientPub, 0o600, 0, 0)
	s.mkdir("/var/log", 0o755, 0, 0)
	s.mkdir("/run", 0o755, 0, 0)
	s.mkdir("/run/sshd", 0o755, 0, 0)
	s.mkdir("/run/lock", 0o1777, 0, 0)
	s.mkdir("/tmp", 0o1777, 0, 0)
	s.mkdir("/var/lib/nginx", 0o755, 0, 0)
	s.mkdir("/srv", 0o755, 0, 0)
	// An empty home: the machine's root dotfiles must not run in lab sessions.
	s.mkdir("/root", 0o700, 0, 0)
	s.linkFile(labBin, h.Paths.BackendBin)
}

func stageDebian(s *stager, h *Host, spec HostSpec) {
	www, ok := lookupIDs("www-data")
	if !ok {
		www = account{33, 33}
	}
	adm, _ := lookupGroup("adm")
	s.copyTree("/etc/nginx", "/etc/nginx", nil)
	if spec.SiteName != "default" {
		s.symlink(h.Paths.SiteConf, "/etc/nginx/sites-enabled/"+spec.SiteName)
		if err := os.Remove(s.path("/etc/nginx/sites-enabled/default")); err != nil {
			s.fail(err)
		}
	}
	s.write(h.Paths.SiteConf, spec.Site, 0o644, 0, 0)
	s.copyTree("/etc/php/8.2/fpm", "/etc/php/8.2/fpm", nil)
	if spec.FPMPool != "" {
		s.write(h.Paths.FPMPoolConf, spec.FPMPool, 0o644, 0, 0)
	}
	s.mkdir("/var/log/nginx", 0o755, 0, adm)
	// As Debian's logrotate leaves them ("create 0640 www-data adm"): only
	// root and the adm group read nginx's logs.
	for _, f := range []string{"error.log", "access.log"} {
		s.write("/var/log/nginx/"+f, "", 0o640, www.uid, adm)
	}
	s.mkdir("/run/php", 0o755, www.uid, www.gid)
	s.mkdir("/var/www", 0o755, 0, 0)
	s.mkdir("/var/www/html", 0o755, 0, 0)
	s.write(h.Paths.DocRoot+"/index.php", indexPHP, 0o644, 0, 0)
}

func stageBaota(s *stager, h *Host, spec HostSpec, www account) {
	s.passwd = append(s.passwd, fmt.Sprintf("www:x:%d:%d::/home/www:/sbin/nologin", www.uid, www.gid))
	s.group = append(s.group, fmt.Sprintf("www:x:%d:", www.gid))
	site := spec.SiteName
	s.mkdir("/etc/nginx", 0o755, 0, 0)       // the distro's nginx is not installed
	s.mkdir("/etc/php/8.2/fpm", 0o755, 0, 0) // nor its PHP
	s.copyTree("/etc/init.d", "/etc/init.d", func(rel string) bool {
		return rel == "nginx" || strings.HasPrefix(rel, "php") // the distro's services
	})
	s.write("/etc/init.d/nginx", btInitNginx, 0o755, 0, 0)
	s.write("/etc/init.d/php-fpm-82", fmt.Sprintf(btInitFPM, strings.Join(h.fpmCommand(), " ")), 0o755, 0, 0)
	s.write("/etc/init.d/bt", btInitBT, 0o755, 0, 0)

	s.mkdir("/www", 0o755, 0, 0)
	s.copyFile(stockNginx, btNginx+"/sbin/nginx", 0o755)
	for _, f := range []string{"mime.types", "fastcgi.conf", "fastcgi_params"} {
		s.copyFile("/etc/nginx/"+f, btNginx+"/conf/"+f, 0o644)
	}
	s.write(btNginx+"/conf/nginx.conf", btNginxConf, 0o644, 0, 0)
	s.write(btNginx+"/conf/proxy.conf", btProxyConf, 0o644, 0, 0)
	s.write(btNginx+"/conf/pathinfo.conf", btPathinfo, 0o644, 0, 0)
	s.write(btNginx+"/conf/enable-php-82.conf", btEnablePHP82, 0o644, 0, 0)
	s.write(btNginx+"/conf/enable-php-00.conf", "\n", 0o644, 0, 0)
	s.mkdir(btNginx+"/logs", 0o755, 0, 0)
	s.mkdir(btNginx+"/html", 0o755, 0, 0)

	s.mkdir(btPanel+"/class", 0o755, 0, 0)
	s.mkdir(btPanel+"/BTPanel", 0o755, 0, 0)
	s.write(btPanel+"/data/port.pl", "8888", 0o600, 0, 0)
	lang := `{"title": "宝塔Linux面板", "language": "Simplified_Chinese"}`
	if h.Layout == "aapanel" {
		lang = `{"title": "aaPanel Linux panel", "brand": "aaPanel", "language": "English"}`
	}
	s.write(btPanel+"/config/config.json", lang+"\n", 0o600, 0, 0)
	s.mkdir(btPanel+"/vhost/nginx/proxy", 0o755, 0, 0)
	s.write(btPanel+"/vhost/rewrite/"+site+".conf", "\n", 0o644, 0, 0)
	s.write(h.Paths.SiteConf, spec.Site, 0o644, 0, 0)

	fpmConf := btFPMGlobal + spec.FPMPool
	if spec.FPMPool == "" {
		fpmConf = btFPMGlobal + btPool
	}
	s.write(h.Paths.FPMConf, fpmConf, 0o644, 0, 0)
	s.write(btPHP+"/etc/php.ini", btPHPIni(), 0o644, 0, 0)
	s.copyFile(debianFPM, h.Paths.FPMBin, 0o755)
	s.mkdir(btPHP+"/var/run", 0o755, 0, 0)
	s.mkdir(btPHP+"/var/log", 0o755, 0, 0)

	s.mkdir("/www/wwwlogs", 0o755, 0, 0)
	s.mkdir("/www/wwwroot", 0o755, www.uid, www.gid)
	s.mkdir(h.Paths.DocRoot, 0o755, www.uid, www.gid)
	s.write(h.Paths.DocRoot+"/index.php", indexPHP, 0o644, www.uid, www.gid)
	s.write(h.Paths.DocRoot+"/.user.ini", "open_basedir="+h.Paths.DocRoot+"/:/tmp/\n", 0o644, 0, 0)
}

// btPHPIni is Debian's php.ini with the extensions of Debian's conf.d
// appended: the panel's PHP lists its extensions in php.ini itself (and
// the host's /etc/php is empty, so conf.d is not scanned).
func btPHPIni() string {
	b, _ := os.ReadFile("/etc/php/8.2/fpm/php.ini")
	ini := string(b) + "\n"
	names, _ := filepath.Glob("/etc/php/8.2/fpm/conf.d/*.ini")
	sort.Strings(names)
	for _, n := range names {
		if mod, err := os.ReadFile(n); err == nil {
			ini += "\n; from " + filepath.Base(n) + "\n" + string(mod)
		}
	}
	return ini
}

const indexPHP = "<?php echo \"ok\";\n"

const sshdConfig = `# testlab host sshd (started as: sshd -D -e)
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /etc/ssh/authorized_keys/%u
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
# tests open many sessions at once
MaxSessions 20
MaxStartups 100
LogLevel VERBOSE
`

// debianSite is Debian's stock default site with its PHP block enabled.
const debianSite = `server {
	listen 80 default_server;
	listen [::]:80 default_server;

	root /var/www/html;
	index index.php index.html index.htm index.nginx-debian.html;

	server_name _;

	location / {
		try_files $uri $uri/ =404;
	}

	# pass PHP scripts to FastCGI server
	location ~ \.php$ {
		include snippets/fastcgi-php.conf;
		fastcgi_pass unix:/run/php/php8.2-fpm.sock;
	}
}
`

// baotaSite is what the panel writes for a new PHP 8.2 site.
func baotaSite(site string) string {
	return strings.ReplaceAll(`server
{
    listen 80;
    server_name SITE;
    index index.php index.html index.htm default.php default.htm default.html;
    root /www/wwwroot/SITE;

    #SSL-START SSL相关配置，请勿删除或修改下一行带注释的404规则
    #error_page 404/404.html;
    #SSL-END

    #ERROR-PAGE-START  错误页配置，可以注释、删除或修改
    #error_page 404 /404.html;
    #error_page 502 /502.html;
    #ERROR-PAGE-END

    #PHP-INFO-START  PHP引用配置，可以注释或修改
    include enable-php-82.conf;
    #PHP-INFO-END

    #REWRITE-START URL重写规则引用,修改后将导致面板设置的伪静态规则失效
    include /www/server/panel/vhost/rewrite/SITE.conf;
    #REWRITE-END

    #禁止访问的文件或目录
    location ~ ^/(\.user.ini|\.htaccess|\.git|\.env|\.svn|\.project|LICENSE|README.md)
    {
        return 404;
    }

    location ~ .*\.(gif|jpg|jpeg|png|bmp|swf)$
    {
        expires      30d;
        error_log /dev/null;
        access_log /dev/null;
    }

    location ~ .*\.(js|css)?$
    {
        expires      12h;
        error_log /dev/null;
        access_log /dev/null;
    }
    access_log  /www/wwwlogs/SITE.log;
    error_log  /www/wwwlogs/SITE.error.log;
}
`, "SITE", site)
}

// btNginxConf is the panel's nginx.conf, except worker_connections (51200
// there) so that twenty lab hosts fit in memory, and no stream{} (Debian's
// binary has the stream module only as a loadable module).
const btNginxConf = `user  www www;
worker_processes auto;
error_log  /www/wwwlogs/nginx_error.log  crit;
pid        /www/server/nginx/logs/nginx.pid;
worker_rlimit_nofile 51200;

events
    {
        use epoll;
        worker_connections 1024;
        multi_accept on;
    }

http
    {
        include       mime.types;
        #include luawaf.conf;

        include proxy.conf;

        default_type  application/octet-stream;

        server_names_hash_bucket_size 512;
        client_header_buffer_size 32k;
        large_client_header_buffers 4 32k;
        client_max_body_size 50m;

        sendfile   on;
        tcp_nopush on;

        keepalive_timeout 60;

        tcp_nodelay on;

        fastcgi_connect_timeout 300;
        fastcgi_send_timeout 300;
        fastcgi_read_timeout 300;
        fastcgi_buffer_size 64k;
        fastcgi_buffers 4 64k;
        fastcgi_busy_buffers_size 128k;
        fastcgi_temp_file_write_size 256k;
        fastcgi_intercept_errors on;

        gzip on;
        gzip_min_length  1k;
        gzip_buffers     4 16k;
        gzip_http_version 1.1;
        gzip_comp_level 2;
        gzip_types     text/plain application/javascript application/x-javascript text/javascript text/css application/xml;
        gzip_vary on;
        gzip_proxied   expired no-cache no-store private auth;
        gzip_disable   "MSIE [1-6]\.";

        limit_conn_zone $binary_remote_addr zone=perip:10m;
        limit_conn_zone $server_name zone=perserver:10m;

        server_tokens off;
        access_log off;

include /www/server/panel/vhost/nginx/*.conf;
}
`

const btProxyConf = `proxy_temp_path /www/server/nginx/proxy_temp_dir;
proxy_cache_path /www/server/nginx/proxy_cache_dir levels=1:2 keys_zone=cache_one:20m inactive=1d max_size=5g;
client_body_buffer_size 512k;
proxy_connect_timeout 60;
proxy_read_timeout 60;
proxy_send_timeout 60;
proxy_buffer_size 32k;
proxy_buffers 4 64k;
proxy_busy_buffers_size 128k;
proxy_temp_file_write_size 128k;
proxy_next_upstream error timeout invalid_header http_500 http_503 http_404;
proxy_cache cache_one;
`

const btPathinfo = `set $real_script_name $fastcgi_script_name;
if ($fastcgi_script_name ~ "^(.+?\.php)(/.+)$") {
		set $real_script_name $1;
		set $path_info $2;
 }
fastcgi_param SCRIPT_FILENAME $document_root$real_script_name;
fastcgi_param SCRIPT_NAME $real_script_name;
fastcgi_param PATH_INFO $path_info;
`

const btEnablePHP82 = `    location ~ [^/]\.php(/|$)
    {
        try_files $uri =404;
        fastcgi_pass  unix:/tmp/php-cgi-82.sock;
        fastcgi_index index.php;
        include fastcgi.conf;
        include pathinfo.conf;
    }
`

const btFPMGlobal = `[global]
pid = /www/server/php/82/var/run/php-fpm.pid
error_log = /www/server/php/82/var/log/php-fpm.log
log_level = notice

`

// btPool is the panel's pool for PHP 8.2, with fewer spare workers so
// that twenty lab hosts fit in memory.
const btPool = `[www]
listen = /tmp/php-cgi-82.sock
listen.backlog = 8192
listen.allowed_clients = 127.0.0.1
listen.owner = www
listen.group = www
listen.mode = 0666
user = www
group = www
pm = dynamic
pm.status_path = /phpfpm_82_status
pm.max_children = 30
pm.start_servers = 2
pm.min_spare_servers = 2
pm.max_spare_servers = 4
request_terminate_timeout = 100
request_slowlog_timeout = 30
slowlog = var/log/slow.log
`

const btInitNginx = `#! /bin/sh
# chkconfig: 2345 55 25
# Description: Startup script for nginx webserver on Debian. Place in /etc/init.d and
# run 'update-rc.d -f nginx defaults', or use the appropriate command on your
# distro. For CentOS/Redhat run: 'chkconfig --add nginx'
### BEGIN INIT INFO
# Provides:          nginx
# Required-Start:    $all
# Required-Stop:     $all
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: starts the nginx web server
### END INIT INFO
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
NAME=nginx
NGINX_BIN=/www/server/nginx/sbin/$NAME
CONFIGFILE=/www/server/nginx/conf/$NAME.conf
PIDFILE=/www/server/nginx/logs/$NAME.pid

case "$1" in
    start)
        echo -n "Starting $NAME... "
        $NGINX_BIN -c $CONFIGFILE && echo " done" || { echo " failed"; exit 1; }
        ;;
    stop)
        echo -n "Stoping $NAME... "
        $NGINX_BIN -s stop -c $CONFIGFILE && echo " done" || { echo " failed"; exit 1; }
        ;;
    reload)
        echo -n "Reload service $NAME... "
        $NGINX_BIN -s reload -c $CONFIGFILE && echo " done" || { echo " failed"; exit 1; }
        ;;
    configtest)
        $NGINX_BIN -t -c $CONFIGFILE
        ;;
    status)
        if [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE) 2>/dev/null; then
            echo "$NAME (pid $(cat $PIDFILE)) already running."
        else
            echo "$NAME is stopped"; exit 1
        fi
        ;;
    *)
        echo "Usage: $0 {start|stop|reload|configtest|status}"
        exit 1
        ;;
esac
`

const btInitFPM = `#! /bin/sh
### BEGIN INIT INFO
# Provides:          php-fpm-82
# Required-Start:    $remote_fs $network
# Required-Stop:     $remote_fs $network
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: starts php-fpm-82
### END INIT INFO
php_fpm_PID=/www/server/php/82/var/run/php-fpm.pid

case "$1" in
    start)
        echo -n "Starting php-fpm "
        %s && echo " done" || { echo " failed"; exit 1; }
        ;;
    stop)
        echo -n "Gracefully shutting down php-fpm "
        kill -QUIT $(cat $php_fpm_PID) && echo " done" || { echo " failed"; exit 1; }
        ;;
    reload)
        echo -n "Reload service php-fpm "
        kill -USR2 $(cat $php_fpm_PID) && echo " done" || { echo " failed"; exit 1; }
        ;;
    status)
        if [ -f $php_fpm_PID ] && kill -0 $(cat $php_fpm_PID) 2>/dev/null; then
            echo "php-fpm (pid $(cat $php_fpm_PID)) is running..."
        else
            echo "php-fpm is stopped"; exit 3
        fi
        ;;
    *)
        echo "Usage: $0 {start|stop|reload|status}"
        exit 1
        ;;
esac
`

// btInitBT stands in for the panel's service script: the panel itself
// does not run in the lab.
const btInitBT = `#!/bin/bash
# chkconfig: 2345 55 25
# description: bt Cloud Service
case "$1" in
    status)
        echo -e "\033[31mBt-Panel not running\033[0m"; exit 1 ;;
    *)
        echo "testlab: the BaoTa panel itself is not installed in this lab host"; exit 1 ;;
esac
`
