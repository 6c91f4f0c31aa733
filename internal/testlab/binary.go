package testlab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

const labbackendPkg = "github.com/badgateway/badgateway/internal/testlab/labbackend"

var labBin struct {
	sync.Mutex
	path  string
	users int    // live hosts using a binary we must delete ourselves
	tmp   string // "" when the binary lives in go test's work dir
}

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
		if tmp, err = os.MkdirTemp("", "testlab-bin-"); err != nil {
			return "", nil, err
		}
		dir = tmp
	}
	out := filepath.Join(dir, "labbackend")
	if err := buildLabBackend(out); err != nil {
		if tmp != "" {
			os.RemoveAll(tmp)
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
		labBin.path, labBin.tmp = "", ""
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
