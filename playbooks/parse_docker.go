package playbooks

import (
	"encoding/json"
	"strings"

	"github.com/badgateway/badgateway/knowledge"
)

func init() { Parsers["docker_ps"] = wrapParser(ParseDockerPS) }

// ParseDockerPS reads `docker ps -a --no-trunc --format '{{json .}}'`: one JSON
// object per container. No output means no docker (or no containers).
func ParseDockerPS(out []byte) ([]knowledge.Container, error) {
	var cs []knowledge.Container
	p := newProblems("docker_ps")
	eachLine(out, func(n int, line string) {
		line = strings.TrimSpace(line)
		if line == "" {
			return
		}
		var raw struct {
			ID, Names, Image, Status, Ports string
		}
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			p.add(n, "not a docker ps JSON line: %v", err)
			return
		}
		cs = append(cs, knowledge.Container{ID: raw.ID, Name: raw.Names, Image: raw.Image, Status: raw.Status, Ports: raw.Ports})
	})
	return cs, p.err()
}
