package testlab

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The harness is checked with OpenSSH's own client, so remote's tests do
// not depend on remote being right about the lab.
func TestStartSSHDWithOpenSSHClient(t *testing.T) {
	s := StartSSHD(t)
	out, err := exec.Command("ssh", "-F", "/dev/null", "-i", s.ClientKeyPath,
		"-o", "UserKnownHostsFile="+s.KnownHostsPath, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
		"-p", strconv.Itoa(s.Port), "root@"+s.Host, "echo ok; ps -o pid,pgid,sid,args -g $(ps -o sid= -p $$)").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok\n") {
		t.Fatalf("ssh: %v\n%s\nsshd log:\n%s", err, out, s.Log())
	}
	if len(s.AcceptedSourcePorts()) != 1 {
		t.Fatalf("want one accepted connection, log:\n%s", s.Log())
	}
	s.Stop()
	if err := exec.Command("ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2",
		"-p", strconv.Itoa(s.Port), "root@"+s.Host, "true").Run(); err == nil {
		t.Fatal("ssh still works after Stop")
	}
}
