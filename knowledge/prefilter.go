package knowledge

// prefilter is an Aho-Corasick automaton over every pattern's literals. It finds the
// few candidate lines in a large log in one pass, so the regexes run only on those,
// and tells which literals a candidate holds, so only their patterns are tried.
type prefilter struct {
	class  [256]uint8 // bytes that appear in no literal share one class: a smaller table stays in cache
	nclass int
	// Dense DFA: next[row+class] is the target state's row (state*nclass), stored as
	// -row-1 when a literal ends there, so the scan loop needs one load and one sign test.
	next []int32
	out  [][]int32 // ids of the literals that end in this state
}

func newPrefilter(literals []string) *prefilter {
	p := &prefilter{}
	used := [256]bool{}
	for _, lit := range literals {
		for i := 0; i < len(lit); i++ {
			used[lit[i]] = true
		}
	}
	used['\n'] = true
	p.nclass = 1 // class 0: every byte no literal uses
	for c := 0; c < 256; c++ {
		if used[c] {
			p.class[c] = uint8(p.nclass)
			p.nclass++
		}
	}

	type node struct {
		child map[uint8]int32
		fail  int32
		out   []int32
	}
	nodes := []node{{child: map[uint8]int32{}}}
	for id, lit := range literals {
		s := int32(0)
		for i := 0; i < len(lit); i++ {
			c := p.class[lit[i]]
			n, ok := nodes[s].child[c]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{child: map[uint8]int32{}})
				nodes[s].child[c] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(id))
	}
	nc := p.nclass
	p.next = make([]int32, len(nodes)*nc)
	hit := make([]bool, len(nodes))
	p.out = make([][]int32, len(nodes))
	// Breadth-first, so each state's failure target is complete before it is used.
	queue := make([]int32, 0, len(nodes))
	for c := 0; c < nc; c++ {
		if n, ok := nodes[0].child[uint8(c)]; ok {
			p.next[c] = n
			queue = append(queue, n)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		f := nodes[s].fail
		p.out[s] = append(append([]int32(nil), nodes[s].out...), p.out[f]...)
		hit[s] = len(p.out[s]) > 0
		for c := 0; c < nc; c++ {
			if n, ok := nodes[s].child[uint8(c)]; ok {
				nodes[n].fail = p.next[int(f)*nc+c]
				p.next[int(s)*nc+c] = n
				queue = append(queue, n)
			} else {
				p.next[int(s)*nc+c] = p.next[int(f)*nc+c]
			}
		}
	}
	// A newline never continues a literal; resetting there keeps matches within one line.
	nl := int(p.class['\n'])
	for s := range nodes {
		p.next[s*nc+nl] = 0
	}
	for i, t := range p.next {
		row := t * int32(nc)
		if hit[t] {
			row = -row - 1
		}
		p.next[i] = row
	}
	return p
}

// find returns the offset just past the first literal found in buf, or -1.
func (p *prefilter) find(buf []byte) int {
	next, class := p.next, &p.class
	row := int32(0)
	for i, c := range buf {
		row = next[row+int32(class[c])]
		if row < 0 {
			return i + 1
		}
	}
	return -1
}

// collect calls fn with the id of every literal occurrence in line.
func (p *prefilter) collect(line []byte, fn func(id int32)) {
	next, class, nc := p.next, &p.class, int32(p.nclass)
	row := int32(0)
	for _, c := range line {
		row = next[row+int32(class[c])]
		if row < 0 {
			row = -row - 1
			for _, id := range p.out[row/nc] {
				fn(id)
			}
		}
	}
}
