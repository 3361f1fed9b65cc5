package rules

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// envNeeds says which parts of the instance environment invariants read,
// so that only those are built for each instance.
type envNeeds struct {
	allRecords bool // `records`, or by_kind with a computed kind
	allSteps   bool // `steps` with a computed name
	steps      map[string]bool
	kinds      map[string]bool
	keys       bool // records' keys are read (.keys, distinct, ids)
	attrs      bool // records' attributes are read (.attrs)
}

func newEnvNeeds() *envNeeds {
	return &envNeeds{steps: map[string]bool{}, kinds: map[string]bool{}}
}

// add records what the expression src reads.
func (n *envNeeds) add(src string) {
	tree, err := parser.Parse(src)
	if err != nil {
		// It compiled elsewhere; be safe and build everything.
		n.allRecords, n.allSteps, n.keys, n.attrs = true, true, true, true
		return
	}
	v := &needsVisitor{n: n, bare: map[string]int{}, named: map[string]int{}}
	ast.Walk(&tree.Node, v)
	// An identifier also visited outside a member access with a constant
	// name is used whole.
	if v.bare["steps"] > v.named["steps"] {
		n.allSteps = true
	}
	if v.bare["by_kind"] > v.named["by_kind"] || v.bare["records"] > 0 {
		n.allRecords = true
	}
}

type needsVisitor struct {
	n     *envNeeds
	bare  map[string]int // identifier visits
	named map[string]int // member accesses with a constant name on the identifier
}

func (v *needsVisitor) Visit(node *ast.Node) {
	switch x := (*node).(type) {
	case *ast.IdentifierNode:
		v.bare[x.Value]++
	case *ast.CallNode:
		if id, ok := x.Callee.(*ast.IdentifierNode); ok && (id.Value == "distinct" || id.Value == "ids") {
			v.n.keys = true
		}
	case *ast.MemberNode:
		name, ok := x.Property.(*ast.StringNode)
		if !ok {
			// A computed member of a record may be anything.
			v.n.keys, v.n.attrs = true, true
			return
		}
		switch name.Value {
		case "keys":
			v.n.keys = true
		case "attrs":
			v.n.attrs = true
		}
		id, ok := x.Node.(*ast.IdentifierNode)
		if !ok {
			return
		}
		switch id.Value {
		case "steps":
			v.named["steps"]++
			v.n.steps[name.Value] = true
		case "by_kind":
			v.named["by_kind"]++
			v.n.kinds[name.Value] = true
		}
	}
}
