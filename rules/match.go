package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// RecordEnv is what a matcher sees of one record.
type RecordEnv struct {
	Kind      string            `expr:"kind"`
	Status    string            `expr:"status"`
	Source    string            `expr:"source"`
	Amount    int64             `expr:"amount"`
	HasAmount bool              `expr:"has_amount"`
	Currency  string            `expr:"currency"`
	Time      time.Time         `expr:"time"`
	Keys      map[string]string `expr:"keys"`
	Attrs     map[string]string `expr:"attrs"`
}

// Matcher is a compiled evidence expression.
type Matcher struct {
	Src  string
	path string // in the config: process.steps[1].succeeded
	prog *vm.Program
	// sigOnly: the expression reads only kind, status and source, so its
	// value can be cached per (source, kind, status).
	sigOnly bool
	// kinds are the record kinds it can match (any: not known statically).
	kinds kindSet
}

type kindSet struct {
	any   bool
	kinds []string
}

func (k kindSet) union(o kindSet) kindSet {
	if k.any || o.any {
		return kindSet{any: true}
	}
	out := append(slices.Clone(k.kinds), o.kinds...)
	slices.Sort(out)
	return kindSet{kinds: slices.Compact(out)}
}

func compileMatcher(src, path string) (*Matcher, error) {
	src = strings.TrimSpace(src)
	if src == "" {
		return nil, nil
	}
	prog, err := expr.Compile(src, expr.Env(RecordEnv{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	tree, err := parser.Parse(src)
	if err != nil {
		return nil, err
	}
	m := &Matcher{Src: src, path: path, prog: prog, sigOnly: true}
	ids := &identVisitor{}
	ast.Walk(&tree.Node, ids)
	for _, id := range ids.names {
		if id != "kind" && id != "status" && id != "source" {
			m.sigOnly = false
		}
	}
	ks, ok := kindsOf(tree.Node)
	if !ok {
		ks = kindSet{any: true}
	}
	m.kinds = ks
	return m, nil
}

type identVisitor struct{ names []string }

func (v *identVisitor) Visit(n *ast.Node) {
	if id, ok := (*n).(*ast.IdentifierNode); ok {
		v.names = append(v.names, id.Value)
	}
}

// kindsOf finds the kinds an expression can match from `kind == "x"` and
// `kind in [...]` conditions joined by && and ||.
func kindsOf(n ast.Node) (kindSet, bool) {
	switch n := n.(type) {
	case *ast.BinaryNode:
		switch n.Operator {
		case "&&", "and":
			l, lok := kindsOf(n.Left)
			r, rok := kindsOf(n.Right)
			switch {
			case lok && rok:
				var both []string
				for _, k := range l.kinds {
					if slices.Contains(r.kinds, k) {
						both = append(both, k)
					}
				}
				return kindSet{kinds: both}, true
			case lok:
				return l, true
			case rok:
				return r, true
			}
			return kindSet{}, false
		case "||", "or":
			l, lok := kindsOf(n.Left)
			r, rok := kindsOf(n.Right)
			if lok && rok {
				return l.union(r), true
			}
			return kindSet{}, false
		case "==":
			if isIdent(n.Left, "kind") {
				if s, ok := n.Right.(*ast.StringNode); ok {
					return kindSet{kinds: []string{s.Value}}, true
				}
			}
			if isIdent(n.Right, "kind") {
				if s, ok := n.Left.(*ast.StringNode); ok {
					return kindSet{kinds: []string{s.Value}}, true
				}
			}
		case "in":
			if isIdent(n.Left, "kind") {
				if arr, ok := n.Right.(*ast.ArrayNode); ok {
					var ks []string
					for _, e := range arr.Nodes {
						s, ok := e.(*ast.StringNode)
						if !ok {
							return kindSet{}, false
						}
						ks = append(ks, s.Value)
					}
					slices.Sort(ks)
					return kindSet{kinds: ks}, true
				}
			}
		}
	}
	return kindSet{}, false
}

func isIdent(n ast.Node, name string) bool {
	id, ok := n.(*ast.IdentifierNode)
	return ok && id.Value == name
}

// Match says a record is evidence of role for a target: a step (index <
// len(Steps)) or a compensation (index len(Steps)+j).
type Match struct {
	Target int
	Role   saga.Role
}

type targetMatcher struct {
	target int
	role   saga.Role
	m      *Matcher
}

// Classifier tells, for each record, which steps and compensations it is
// evidence of. Each goroutine uses its own.
type Classifier struct {
	st  *record.Store
	sig []targetMatcher // cacheable by (source, kind, status)
	dyn []targetMatcher
	// bySig holds the sigEntry of each (source, kind, status) seen, as
	// bySig[kind][status], then a short list by source (a kind rarely
	// comes from more than one or two). Symbols are small dense integers,
	// so two indexings and a scan of a list or two cost a fraction of a map
	// lookup, which Matches does for every record. The slices grow to
	// the largest symbol seen: a symbol interned after the classifier was
	// made (the store grows while reading) just lengthens them.
	bySig [][][]srcEntry
	// far holds the combinations of a kind or status symbol beyond
	// tableSyms: statuses share the symbol table with attribute values,
	// so a status first seen late can have a large symbol, and rows that
	// long for every kind would cost more memory than they save.
	far map[[3]record.Sym]*sigEntry
	out []Match // what Matches returns for a record with dyn matchers
	env RecordEnv
	buf record.Record
	vm  vm.VM
}

// sigEntry is what is known for every record of one (source, kind, status):
// the matches of the matchers that read nothing else, and the other
// matchers that could match its kind.
type sigEntry struct {
	matches []Match
	dyn     []targetMatcher
}

// srcEntry is the sigEntry of one source within bySig[kind][status].
type srcEntry struct {
	src record.Sym
	e   *sigEntry
}

// Classifier returns a classifier over st.
func (m *Model) Classifier(st *record.Store) *Classifier {
	c := &Classifier{st: st}
	for _, tm := range m.targetMatchers() {
		if tm.m.sigOnly {
			c.sig = append(c.sig, tm)
		} else {
			c.dyn = append(c.dyn, tm)
		}
	}
	return c
}

func (m *Model) targetMatchers() []targetMatcher {
	var out []targetMatcher
	for _, s := range m.Steps {
		for role, mm := range s.match {
			if mm != nil {
				out = append(out, targetMatcher{target: s.Index, role: saga.Role(role), m: mm})
			}
		}
	}
	for _, c := range m.Comps {
		for role, mm := range c.match {
			if mm != nil {
				out = append(out, targetMatcher{target: len(m.Steps) + c.Index, role: saga.Role(role), m: mm})
			}
		}
	}
	return out
}

// Matches returns the matches of record id; src, kind and status are its
// Sig, which the caller has read. The slice is the classifier's own,
// valid until its next call and not to be modified: most records match
// only matchers that read their signature, whose matches are returned as
// cached, not copied.
func (c *Classifier) Matches(id record.ID, src, kind, status record.Sym) ([]Match, error) {
	e := c.cached(src, kind, status)
	if e == nil {
		var err error
		if e, err = c.entry(id, src, kind, status); err != nil {
			return nil, err
		}
		c.store(src, kind, status, e)
	}
	if len(e.dyn) == 0 {
		return e.matches, nil
	}
	c.out = append(c.out[:0], e.matches...)
	c.fill(id)
	for _, tm := range e.dyn {
		hit, err := c.run(tm, id)
		if err != nil {
			return c.out, err
		}
		if hit {
			c.out = append(c.out, Match{Target: tm.target, Role: tm.role})
		}
	}
	return c.out, nil
}

// tableSyms bounds the kind and status symbols bySig indexes.
const tableSyms = 1024

// cached returns the sigEntry of (src, kind, status), or nil.
func (c *Classifier) cached(src, kind, status record.Sym) *sigEntry {
	if kind >= tableSyms || status >= tableSyms {
		return c.far[[3]record.Sym{src, kind, status}]
	}
	if int(kind) < len(c.bySig) {
		if row := c.bySig[kind]; int(status) < len(row) {
			for _, se := range row[status] {
				if se.src == src {
					return se.e
				}
			}
		}
	}
	return nil
}

// store keeps e as the sigEntry of (src, kind, status).
func (c *Classifier) store(src, kind, status record.Sym, e *sigEntry) {
	if kind >= tableSyms || status >= tableSyms {
		if c.far == nil {
			c.far = map[[3]record.Sym]*sigEntry{}
		}
		c.far[[3]record.Sym{src, kind, status}] = e
		return
	}
	if n := int(kind) + 1; n > len(c.bySig) {
		c.bySig = append(c.bySig, make([][][]srcEntry, n-len(c.bySig))...)
	}
	row := c.bySig[kind]
	if n := int(status) + 1; n > len(row) {
		row = append(row, make([][]srcEntry, n-len(row))...)
		c.bySig[kind] = row
	}
	row[status] = append(row[status], srcEntry{src: src, e: e})
}

func (c *Classifier) entry(id record.ID, src, kind, status record.Sym) (*sigEntry, error) {
	e := &sigEntry{}
	c.env = RecordEnv{Kind: c.st.SymName(kind), Status: c.st.SymName(status), Source: c.st.SymName(src)}
	for _, tm := range c.sig {
		hit, err := c.run(tm, id)
		if err != nil {
			return nil, err
		}
		if hit {
			e.matches = append(e.matches, Match{Target: tm.target, Role: tm.role})
		}
	}
	for _, tm := range c.dyn {
		if tm.m.kinds.any || slices.Contains(tm.m.kinds.kinds, c.env.Kind) {
			e.dyn = append(e.dyn, tm)
		}
	}
	return e, nil
}

func (c *Classifier) fill(id record.ID) {
	c.st.Get(id, &c.buf)
	fillEnv(&c.env, &c.buf, true, true)
}

// fillEnv sets env from r, filling the keys and attrs maps only when asked
// (they are the costly part).
func fillEnv(env *RecordEnv, r *record.Record, withKeys, withAttrs bool) {
	keys, attrs := env.Keys, env.Attrs
	if keys == nil {
		keys, attrs = map[string]string{}, map[string]string{}
	}
	clear(keys)
	clear(attrs)
	if withKeys {
		for _, k := range r.Keys {
			keys[k.Name] = k.Value
		}
	}
	if withAttrs {
		for _, a := range r.Attrs {
			attrs[a.Name] = a.Value
		}
	}
	*env = RecordEnv{
		Kind: r.Kind, Status: r.Status, Source: r.Prov.Source,
		Amount: r.Amount, HasAmount: r.HasAmount, Currency: r.Currency, Time: r.Time,
		Keys: keys, Attrs: attrs,
	}
}

func (c *Classifier) run(tm targetMatcher, id record.ID) (bool, error) {
	out, err := c.vm.Run(tm.m.prog, &c.env)
	if err != nil {
		c.st.Get(id, &c.buf)
		return false, fmt.Errorf("%s: %q failed on the record at %s: %w\n(make the expression hold for every record it can see, or fix the record)", tm.m.path, tm.m.Src, c.buf.Prov, err)
	}
	return out.(bool), nil
}
