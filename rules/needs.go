package rules

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/vitals-dev/vitals/saga"
)

// envNeeds says which parts of the instance environment invariants read,
// so that only those are built for each instance.
type envNeeds struct {
	allRecords bool // `records`, or by_kind with a computed kind
	allSteps   bool // `steps` with a computed name
	steps      map[string]bool
	// stepFields are, per step, the lists of records read of it by name
	// (steps.x.succeeded): a bit per saga.Role, and fieldEvidence.
	stepFields map[string]uint8
	kinds      map[string]bool
	keys       bool // records' keys are read (.keys, distinct, ids)
	// keyNames are the key types read by name (.keys.order_id, distinct(x,
	// "charge_id")); allKeys: some are read otherwise (whole, computed).
	keyNames map[string]bool
	allKeys  bool
	attrs    bool // records' attributes are read (.attrs)
}

func newEnvNeeds() *envNeeds {
	return &envNeeds{steps: map[string]bool{}, stepFields: map[string]uint8{}, kinds: map[string]bool{}, keyNames: map[string]bool{}}
}

// add records what the expression src reads.
func (n *envNeeds) add(src string) {
	tree, err := parser.Parse(src)
	if err != nil {
		// It compiled elsewhere; be safe and build everything.
		n.everything()
		return
	}
	v := &needsVisitor{n: n, bare: map[string]int{}, named: map[string]int{}, stepRefs: map[string]int{}, fieldRefs: map[string]int{}}
	ast.Walk(&tree.Node, v)
	// A step also used otherwise than by a field with a constant name
	// (passed whole to a function, a field with a computed name) may have
	// any of its lists read.
	for s, refs := range v.stepRefs {
		if refs > v.fieldRefs[s] {
			n.stepFields[s] |= allFields
		}
	}
	// An identifier also visited outside a member access with a constant
	// name is used whole.
	if v.bare["steps"] > v.named["steps"] {
		n.allSteps = true
	}
	if v.bare["by_kind"] > v.named["by_kind"] || v.bare["records"] > 0 {
		n.allRecords = true
	}
	if v.keys > v.namedKeys {
		n.allKeys = true
	}
}

type needsVisitor struct {
	n     *envNeeds
	bare  map[string]int // identifier visits
	named map[string]int // member accesses with a constant name on the identifier
	// keys counts .keys accesses, namedKeys those followed by a constant
	// key name.
	keys, namedKeys int
	// stepRefs counts, per step, the accesses steps.x; fieldRefs those
	// followed by a field with a constant name.
	stepRefs, fieldRefs map[string]int
}

// The bits of envNeeds.stepFields: one per saga.Role (1<<role) for the
// step's requested, succeeded, failed and unknown lists, and one for its
// evidence list.
const (
	fieldEvidence = 1 << 4
	allFields     = 1<<(saga.RoleUnknown+1) - 1 | fieldEvidence
)

// fieldBit is the bit of a step's field, 0 for those that hold no records.
func fieldBit(name string) uint8 {
	switch name {
	case "requested":
		return 1 << saga.RoleRequested
	case "succeeded":
		return 1 << saga.RoleSucceeded
	case "failed":
		return 1 << saga.RoleFailed
	case "unknown":
		return 1 << saga.RoleUnknown
	case "evidence":
		return fieldEvidence
	}
	return 0
}

// roles returns the stepFields bits of step s.
func (n *envNeeds) roles(s string) uint8 {
	if n.allSteps {
		return allFields
	}
	return n.stepFields[s]
}

// wholeRecords: records are read whole, every key and attribute.
func (n *envNeeds) wholeRecords() { n.keys, n.allKeys, n.attrs = true, true, true }

// everything: the whole environment is read.
func (n *envNeeds) everything() {
	n.wholeRecords()
	n.allRecords, n.allSteps = true, true
}

// keyTypes returns the bit mask of key types (indexes into types) that
// records' keys must hold for the expressions.
func (n *envNeeds) keyTypes(types []string) uint64 {
	if !n.keys {
		return 0
	}
	if n.allKeys {
		return ^uint64(0)
	}
	var mask uint64
	for i, t := range types {
		if n.keyNames[t] {
			mask |= 1 << i
		}
	}
	return mask
}

func (v *needsVisitor) Visit(node *ast.Node) {
	switch x := (*node).(type) {
	case *ast.IdentifierNode:
		v.bare[x.Value]++
		if x.Value == "$env" {
			// The environment itself, by any name: build all of it.
			v.n.everything()
		}
	case *ast.BuiltinNode:
		switch x.Name {
		case "toJSON", "string":
			// May render a whole record, keys and attributes included.
			v.n.wholeRecords()
		case "get":
			// get(record, "keys") is record.keys, read whole; any other
			// name may be either.
			name := ""
			if len(x.Arguments) == 2 {
				if s, ok := x.Arguments[1].(*ast.StringNode); ok {
					name = s.Value
				}
			}
			switch name {
			case "keys":
				v.n.keys, v.n.allKeys = true, true
			case "attrs":
				v.n.attrs = true
			default:
				v.n.wholeRecords()
			}
		}
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && id.Value == "sprintf" {
			v.n.wholeRecords()
		}
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (id.Value == "distinct" || id.Value == "ids" || id.Value == "uncovered") {
			v.n.keys = true
			if n := len(x.Arguments); n == 2 || id.Value == "uncovered" && n == 3 {
				if name, ok := x.Arguments[n-1].(*ast.StringNode); ok {
					v.n.keyNames[name.Value] = true
					return
				}
			}
			v.n.allKeys = true
		}
	case *ast.MemberNode:
		name, ok := x.Property.(*ast.StringNode)
		if !ok && isIndex(x.Property) {
			return // list[0], list[-1]: an element, not a member
		}
		if !ok {
			// A computed member of a record may be anything.
			v.n.wholeRecords()
			return
		}
		switch name.Value {
		case "keys":
			v.n.keys = true
			v.keys++
		case "attrs":
			v.n.attrs = true
		}
		if inner, ok := x.Node.(*ast.MemberNode); ok {
			if p, ok := inner.Property.(*ast.StringNode); ok && p.Value == "keys" {
				v.namedKeys++
				v.n.keyNames[name.Value] = true
			}
			if id, ok := inner.Node.(*ast.IdentifierNode); ok && id.Value == "steps" {
				if step, ok := inner.Property.(*ast.StringNode); ok {
					// steps.capture_payment.succeeded
					v.fieldRefs[step.Value]++
					v.n.stepFields[step.Value] |= fieldBit(name.Value)
				}
			}
		}
		id, ok := x.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "steps":
			v.named["steps"]++
			v.n.steps[name.Value] = true
			v.stepRefs[name.Value]++
		case "by_kind":
			v.named["by_kind"]++
			v.n.kinds[name.Value] = true
		}
	}
}

// isIndex reports whether a member's property is a constant integer: the
// expression indexes a list.
func isIndex(n ast.Node) bool {
	switch x := n.(type) {
	case *ast.IntegerNode:
		return true
	case *ast.UnaryNode:
		_, ok := x.Node.(*ast.IntegerNode)
		return ok && (x.Operator == "-" || x.Operator == "+")
	}
	return false
}

// readsKinds returns the record kinds the expressions can read: those named
// in by_kind, and those that can be evidence of the steps and compensations
// they read; any is true when they read records whatever their kind.
func (n *envNeeds) readsKinds(m *Model) (kinds []string, any bool) {
	if n.allRecords || n.allSteps {
		return nil, true
	}
	ks := kindSet{}
	for k := range n.kinds {
		ks = ks.union(kindSet{kinds: []string{k}})
	}
	for _, s := range m.Steps {
		if n.steps[s.Name] {
			k, a := s.EvidenceKinds()
			ks = ks.union(kindSet{kinds: k, any: a})
		}
	}
	for _, c := range m.Comps {
		if n.steps[c.Name] {
			k, a := c.EvidenceKinds()
			ks = ks.union(kindSet{kinds: k, any: a})
		}
	}
	return ks.kinds, ks.any
}
