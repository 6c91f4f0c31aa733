package knowledge

// prefilter is an Aho-Corasick automaton over every pattern's literals. It finds the
// few candidate lines in a large log in one pass, so the regexes run only on those.
type prefilter struct {
	next []int32 // dense DFA: next[state*256+byte]
	hit  []bool  // a literal ends in this state
}

func newPrefilter(literals []string) *prefilter {
	type node struct {
		child map[byte]int32
		fail  int32
		hit   bool
	}
	nodes := []node{{child: map[byte]int32{}}}
	for _, lit := range literals {
		s := int32(0)
		for i := 0; i < len(lit); i++ {
			c := lit[i]
			n, ok := nodes[s].child[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{child: map[byte]int32{}})
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].hit = true
	}
	p := &prefilter{next: make([]int32, len(nodes)*256), hit: make([]bool, len(nodes))}
	// Breadth-first, so each state's failure target is complete before it is used.
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < 256; c++ {
		if n, ok := nodes[0].child[byte(c)]; ok {
			p.next[c] = n
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := nodes[s].fail
		nodes[s].hit = nodes[s].hit || nodes[f].hit
		p.hit[s] = nodes[s].hit
		for c := 0; c < 256; c++ {
			if n, ok := nodes[s].child[byte(c)]; ok {
				nodes[n].fail = p.next[int(f)*256+c]
				p.next[int(s)*256+c] = n
				queue = append(queue, n)
			} else {
				p.next[int(s)*256+c] = p.next[int(f)*256+c]
			}
		}
	}
	// A newline never continues a literal; resetting there keeps matches within one line.
	for s := range nodes {
		p.next[s*256+'\n'] = 0
	}
	return p
}

// find returns the offset just past the first literal found in buf, or -1.
func (p *prefilter) find(buf []byte) int {
	next, hit := p.next, p.hit
	s := int32(0)
	for i, c := range buf {
		s = next[int(s)<<8|int(c)]
		if hit[s] {
			return i + 1
		}
	}
	return -1
}
