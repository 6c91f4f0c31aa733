package playbooks

import (
	"net"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

func init() { Parsers["resolve"] = wrapParser(ParseResolve) }

// ParseResolve reads the nginx-502 playbook's `resolve` step: one line per name,
// "NAME ADDR ADDR…", no address when the name does not resolve.
func ParseResolve(out []byte) ([]knowledge.Resolution, error) {
	var rs []knowledge.Resolution
	p := newProblems("resolve")
	eachLine(out, func(n int, line string) {
		f := strings.Fields(line)
		if len(f) == 0 {
			return
		}
		r := knowledge.Resolution{Name: f[0]}
		for _, a := range f[1:] {
			if net.ParseIP(a) == nil {
				p.add(n, "%q is not an address", a)
				continue
			}
			r.Addresses = append(r.Addresses, a)
		}
		rs = append(rs, r)
	})
	return rs, p.err()
}
