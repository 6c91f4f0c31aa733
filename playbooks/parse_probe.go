package playbooks

import (
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

func init() { Parsers["probe"] = wrapParser(ParseProbes) }

// ParseProbes reads the nginx-502 playbook's `probes` step: one line per target,
// "HOST:PORT open|timeout|error DETAIL|unknown DETAIL".
func ParseProbes(out []byte) ([]knowledge.Probe, error) {
	var probes []knowledge.Probe
	p := newProblems("probe")
	eachLine(out, func(n int, line string) {
		f := strings.SplitN(strings.TrimSpace(line), " ", 3)
		if len(f) < 2 {
			if strings.TrimSpace(line) != "" {
				p.add(n, "not TARGET RESULT: %q", line)
			}
			return
		}
		pr := knowledge.Probe{Target: f[0], Result: f[1]}
		if len(f) == 3 {
			pr.Detail = f[2]
		}
		switch pr.Result {
		case "open", "timeout", "error", "unknown":
		default:
			p.add(n, "unknown result %q", pr.Result)
			return
		}
		probes = append(probes, pr)
	})
	return probes, p.err()
}
