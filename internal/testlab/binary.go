package testlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

const labbackendPkg = "github.com/badgateway/badgateway/internal/testlab/labbackend"

var labBin struct {
	sync.Mutex
	path  string
	users int      // live hosts using a binary we must delete ourselves
	tmp   string   // "" when the binary lives in go test's work dir
	lock  *os.File // flock on tmp while it is ours, for sweepStaleBinaries
}

const binDirPrefix = "testlab-bin-"

// acquireLabBinary builds labbackend once per test binary. Under `go test`
// the test binary runs from go's own work dir, which go removes afterwards,
// so the build goes there and lives until the end. Otherwise it goes to a
// temp dir that the last host using it removes (a later host rebuilds,
// from go's build cache).
func acquireLabBinary() (string, func(), error) {
	labBin.Lock()
	defer labBin.Unlock()
	if labBin.path != "" {
		if labBin.tmp != "" {
			labBin.users++
		}
		return labBin.path, releaseLabBinary, nil
	}
	dir, tmp := filepath.Dir(os.Args[0]), ""
	if !strings.Contains(dir, "go-build") || !writable(dir) {
		var err error
		if tmp, err = os.MkdirTemp("", binDirPrefix); err != nil {
			return "", nil, err
		}
		if labBin.lock, err = os.Open(tmp); err == nil {
			err = syscall.Flock(int(labBin.lock.Fd()), syscall.LOCK_EX)
		}
		if err != nil {
			os.RemoveAll(tmp)
			return "", nil, err
		}
		dir = tmp
	}
	out := filepath.Join(dir, "labbackend")
	if err := buildLabBackend(out); err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
			labBin.lock.Close()
		}
		return "", nil, err
	}
	labBin.path, labBin.tmp = out, tmp
	if tmp != "" {
		labBin.users = 1
	}
	return out, releaseLabBinary, nil
}

func releaseLabBinary() {
	labBin.Lock()
	defer labBin.Unlock()
	if labBin.tmp == "" {
		return
	}
	if labBin.users--; labBin.users == 0 {
		os.RemoveAll(labBin.tmp)
		labBin.lock.Close()
		labBin.path, labBin.tmp, labBin.lock = "", "", nil
	}
}

// sweepStaleBinaries removes build dirs of test binaries that died: a dir
// is in use while its owner holds a flock on it. Fresh dirs are spared, as
// their owner may not have locked them yet.
func sweepStaleBinaries() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), binDirPrefix+"*"))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue
		}
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			os.RemoveAll(d)
		}
		f.Close()
	}
}

func buildLabBackend(out string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "build", "-o", out, labbackendPkg)
	// Build from the package's own directory so the module is found
	// whatever the calling test's working directory is.
	if _, file, _, ok := runtime.Caller(0); ok {
		if src := filepath.Join(filepath.Dir(file), "labbackend"); isDir(src) {
			cmd = exec.Command(goTool, "build", "-o", out, ".")
			cmd.Dir = src
		}
	}
	// Static, so it runs the same in every host whatever is mounted.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build labbackend: %v\n%s", err, b)
	}
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".w")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}
