package rules

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"

	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// InstanceEnv is what an invariant sees of one instance.
type InstanceEnv struct {
	Root    string                   `expr:"root"`
	Outcome string                   `expr:"outcome"`
	Records []*RecordView            `expr:"records"`
	ByKind  map[string][]*RecordView `expr:"by_kind"`
	Steps   map[string]*StepView     `expr:"steps"`
	Vars    map[string]any           `expr:"vars"`
}

// RecordView is a record inside an invariant expression.
type RecordView struct {
	RecordEnv
	ID record.ID `expr:"id"`
}

// StepView is a step (or compensation) inside an invariant expression.
type StepView struct {
	State     string        `expr:"state"`
	Attempts  int           `expr:"attempts"`
	Requested []*RecordView `expr:"requested"`
	Succeeded []*RecordView `expr:"succeeded"`
	Failed    []*RecordView `expr:"failed"`
	Unknown   []*RecordView `expr:"unknown"`
	Evidence  []*RecordView `expr:"evidence"`
}

// ReadsKinds returns the record kinds the invariant's vars, when and expr
// can read; any is true when they read records whatever their kind.
func (inv *Invariant) ReadsKinds() (kinds []string, any bool) { return inv.kinds, inv.anyKind }

// Invariant is a compiled business rule.
type Invariant struct {
	Code     saga.Code
	Severity saga.Severity
	Step     string
	vars     []varRef
	when     *vm.Program
	assert   *vm.Program
	// whenFast and assertFast are the same programs on the fast path
	// (fast.go), nil where it does not take them.
	whenFast   *fastProg
	assertFast *fastProg
	message    []messagePart
	evidence   *vm.Program
	// kinds are the record kinds its vars, when and expr can read (anyKind:
	// any kind at all).
	kinds   []string
	anyKind bool
}

// varRef names a shared variable program: invariants that define the
// same expression (often under the same name) evaluate it once per instance.
type varRef struct {
	name string
	idx  int // into Model.vars
}

// sharedVar is one distinct variable expression.
type sharedVar struct {
	src  string
	prog *vm.Program
	fast *fastProg
}

// varCache holds the values of shared variables for one instance.
type varCache struct {
	vals []any
	done []bool
}

func (c *varCache) reset(n int) {
	if len(c.done) < n {
		c.vals, c.done = make([]any, n), make([]bool, n)
	}
	clear(c.vals)
	clear(c.done)
}

type messagePart struct {
	text string
	prog *vm.Program
}

// functions are the helpers invariants may call.
var functions = []expr.Option{
	expr.Function("distinct", fnDistinct),
	expr.Function("total", fnTotal),
	expr.Function("ids", fnIDs),
	expr.Function("uncovered", fnUncovered),
	expr.Function("money", fnMoney),
	expr.Function("sprintf", func(p ...any) (any, error) {
		if len(p) == 0 {
			return nil, errors.New("sprintf(format, args...)")
		}
		f, ok := p[0].(string)
		if !ok {
			return nil, errors.New("sprintf: the format must be a string")
		}
		return fmt.Sprintf(f, p[1:]...), nil
	}),
}

func options(extra ...expr.Option) []expr.Option {
	return append(append([]expr.Option{expr.Env(InstanceEnv{})}, functions...), extra...)
}

func compileInvariant(c InvariantConfig, m *Model) (*Invariant, error) {
	if m.needs == nil {
		m.needs = newEnvNeeds()
	}
	// What this invariant alone reads decides whose coverage it needs
	// (judge.invariants skips it where a source it reads did not cover
	// the instance).
	own := newEnvNeeds()
	for _, src := range c.Vars {
		own.add(src)
	}
	for _, src := range []string{c.When, c.Expr} {
		if src != "" {
			own.add(src)
		}
	}
	for _, src := range c.Vars {
		m.needs.add(src)
	}
	for _, src := range []string{c.When, c.Expr, c.Evidence} {
		if src != "" {
			m.needs.add(src)
		}
	}
	for _, part := range messageExprs(c.Message) {
		m.needs.add(part)
	}
	if c.Evidence == "" {
		m.needs.steps[c.Step] = true // the default evidence
	}
	inv := &Invariant{Code: saga.Code(c.Code), Step: c.Step}
	inv.kinds, inv.anyKind = own.readsKinds(m)
	if c.Code == "" {
		return nil, errors.New("code: required (e.g. AMOUNT_MISMATCH)")
	}
	if !saga.Known(inv.Code) {
		return nil, fmt.Errorf("code: %q is not in the vocabulary (%s)", c.Code, strings.Join(saga.CodeNames(), ", "))
	}
	inv.Severity = saga.DefaultSeverity(inv.Code)
	if c.Severity != "" {
		var err error
		if inv.Severity, err = saga.ParseSeverity(c.Severity); err != nil {
			return nil, fmt.Errorf("severity: %w", err)
		}
	}
	if c.Step != "" && m.StepByName(c.Step) == nil {
		return nil, fmt.Errorf("step: %q is not a step of process %s", c.Step, m.Name)
	}
	names := make([]string, 0, len(c.Vars))
	for n := range c.Vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		src := strings.TrimSpace(c.Vars[n])
		idx := slices.IndexFunc(m.vars, func(v *sharedVar) bool { return v.src == src })
		if idx < 0 {
			p, err := expr.Compile(src, options()...)
			if err != nil {
				return nil, fmt.Errorf("vars.%s: %w", n, err)
			}
			// Evaluated independently, and once for every invariant that
			// defines it: its value must not depend on the other variables.
			root := p.Node()
			ids := &identVisitor{}
			ast.Walk(&root, ids)
			if slices.Contains(ids.names, "vars") {
				return nil, fmt.Errorf("vars.%s: a variable cannot read vars; repeat the expression it needs instead", n)
			}
			m.vars = append(m.vars, &sharedVar{src: src, prog: p, fast: compileFast(p)})
			idx = len(m.vars) - 1
		}
		inv.vars = append(inv.vars, varRef{name: n, idx: idx})
	}
	var err error
	if c.When != "" {
		if inv.when, err = expr.Compile(c.When, options(expr.AsBool())...); err != nil {
			return nil, fmt.Errorf("when: %w", err)
		}
		inv.whenFast = compileFast(inv.when)
	}
	if c.Expr == "" {
		return nil, errors.New("expr: required (the condition that must hold)")
	}
	if inv.assert, err = expr.Compile(c.Expr, options(expr.AsBool())...); err != nil {
		return nil, fmt.Errorf("expr: %w", err)
	}
	inv.assertFast = compileFast(inv.assert)
	if c.Evidence != "" {
		if inv.evidence, err = expr.Compile(c.Evidence, options()...); err != nil {
			return nil, fmt.Errorf("evidence: %w", err)
		}
	}
	msg := c.Message
	if msg == "" {
		msg = saga.CodeMeaning(inv.Code)
	}
	if inv.message, err = compileMessage(msg); err != nil {
		return nil, fmt.Errorf("message: %w", err)
	}
	return inv, nil
}

// messageExprs returns the {{ expressions }} of a message.
func messageExprs(s string) []string {
	var out []string
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return out
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return out
		}
		out = append(out, strings.TrimSpace(s[i+2:i+j]))
		s = s[i+j+2:]
	}
}

func compileMessage(s string) ([]messagePart, error) {
	var parts []messagePart
	for s != "" {
		i := strings.Index(s, "{{")
		if i < 0 {
			parts = append(parts, messagePart{text: s})
			break
		}
		if i > 0 {
			parts = append(parts, messagePart{text: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return nil, errors.New("unclosed {{")
		}
		p, err := expr.Compile(strings.TrimSpace(s[i+2:i+j]), options()...)
		if err != nil {
			return nil, err
		}
		parts = append(parts, messagePart{prog: p})
		s = s[i+j+2:]
	}
	return parts, nil
}

// setVars evaluates (or takes from the cache) the invariant's variables.
// With fast set, it runs them on the fast path where it can and binds
// them in fast.vars, where the fast path reads vars.name: env.Vars, a map
// cleared and filled per invariant, cost more than computing them. The
// map is filled only when the VM or a fast program reading vars whole
// needs it (fastCtx.varMap). Without fast, the values go to env.Vars.
func (inv *Invariant) setVars(m *Model, env *InstanceEnv, cache *varCache, machine *vm.VM, fast *fastCtx) error {
	var bound []boundVar
	if fast != nil {
		bound = fast.vars[:0]
		fast.mapped = false
	}
	for _, v := range inv.vars {
		if !cache.done[v.idx] {
			sv := m.vars[v.idx]
			var out any
			ok := false
			if sv.fast != nil && fast != nil {
				out, ok = sv.fast.run(fast, env)
			}
			if !ok {
				// The VM sees in env.Vars the variables set before this
				// one, as it always did, and whole records.
				if fast != nil {
					fast.loadAll()
				}
				setVarMap(env, bound)
				var err error
				if out, err = machine.Run(sv.prog, env); err != nil {
					return fmt.Errorf("vars.%s: %w", v.name, err)
				}
			}
			cache.vals[v.idx], cache.done[v.idx] = out, true
		}
		bound = append(bound, boundVar{v.name, cache.vals[v.idx]})
	}
	if fast == nil {
		setVarMap(env, bound)
		return nil
	}
	fast.vars = bound
	return nil
}

// boundVar is a variable of the invariant being evaluated and its value.
type boundVar struct {
	name string
	val  any
}

// setVarMap sets env.Vars to the variables vars.
func setVarMap(env *InstanceEnv, vars []boundVar) {
	if env.Vars == nil {
		env.Vars = make(map[string]any, len(vars))
	}
	clear(env.Vars)
	for _, v := range vars {
		env.Vars[v.name] = v.val
	}
}

// runProgram runs p on the fast path when f and fast are set and it
// gets there, and on the VM otherwise, with env.Vars set to fast.vars.
func runProgram(p *vm.Program, f *fastProg, env *InstanceEnv, machine *vm.VM, fast *fastCtx) (any, error) {
	if fast != nil {
		if f != nil {
			if out, ok := f.run(fast, env); ok {
				return out, nil
			}
		}
		fast.varMap(env)
		fast.loadAll()
	}
	return machine.Run(p, env)
}

// violated evaluates the invariant's variables, condition and assertion.
func (inv *Invariant) violated(m *Model, env *InstanceEnv, cache *varCache, machine *vm.VM, fast *fastCtx) (bool, error) {
	if err := inv.setVars(m, env, cache, machine, fast); err != nil {
		return false, err
	}
	if inv.when != nil {
		out, err := runProgram(inv.when, inv.whenFast, env, machine, fast)
		if err != nil {
			return false, fmt.Errorf("when: %w", err)
		}
		if !out.(bool) {
			return false, nil
		}
	}
	out, err := runProgram(inv.assert, inv.assertFast, env, machine, fast)
	if err != nil {
		return false, fmt.Errorf("expr: %w", err)
	}
	return !out.(bool), nil
}

// explain renders the message of a violated invariant and the evidence
// to cite.
func (inv *Invariant) explain(m *Model, env *InstanceEnv, cache *varCache, machine *vm.VM) (msg string, evidence []record.ID, err error) {
	if err := inv.setVars(m, env, cache, machine, nil); err != nil {
		return "", nil, err
	}
	var b strings.Builder
	for _, p := range inv.message {
		if p.prog == nil {
			b.WriteString(p.text)
			continue
		}
		v, err := machine.Run(p.prog, env)
		if err != nil {
			return "", nil, fmt.Errorf("message: %w", err)
		}
		fmt.Fprint(&b, v)
	}
	var recs []*RecordView
	if inv.evidence != nil {
		v, err := machine.Run(inv.evidence, env)
		if err != nil {
			return "", nil, fmt.Errorf("evidence: %w", err)
		}
		if recs, err = toRecords(v); err != nil {
			return "", nil, fmt.Errorf("evidence: %w", err)
		}
	} else if sv := env.Steps[inv.Step]; sv != nil {
		recs = sv.Evidence
	}
	for _, r := range recs {
		evidence = append(evidence, r.ID)
	}
	slices.Sort(evidence)
	return b.String(), slices.Compact(evidence), nil
}

func toRecords(v any) ([]*RecordView, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []*RecordView:
		return x, nil
	case *RecordView:
		return []*RecordView{x}, nil
	case []any:
		out := make([]*RecordView, 0, len(x))
		for _, e := range x {
			r, ok := e.(*RecordView)
			if !ok {
				return nil, fmt.Errorf("expected records, got a %T", e)
			}
			out = append(out, r)
		}
		return out, nil
	}
	return nil, fmt.Errorf("expected records, got a %T", v)
}

// distinct(records, "charge_id"): one record per value of the key, in time
// order; records without the key are left out.
func fnDistinct(p ...any) (any, error) {
	if len(p) != 2 {
		return nil, errors.New("distinct(records, key_type)")
	}
	recs, err := toRecords(p[0])
	if err != nil {
		return nil, fmt.Errorf("distinct: %w", err)
	}
	key, ok := p[1].(string)
	if !ok {
		return nil, errors.New("distinct: the key type must be a string")
	}
	return distinctBy(recs, key), nil
}

func distinctBy(recs []*RecordView, key string) []*RecordView {
	out := make([]*RecordView, 0, len(recs))
	var seen map[string]bool // for long lists; short ones are searched
	for _, r := range recs {
		v := r.Keys[key]
		if v == "" {
			continue
		}
		if seen == nil && len(out) >= 16 {
			seen = make(map[string]bool, len(recs))
			for _, o := range out {
				seen[o.Keys[key]] = true
			}
		}
		if seen != nil {
			if seen[v] {
				continue
			}
			seen[v] = true
		} else if slices.ContainsFunc(out, func(o *RecordView) bool { return o.Keys[key] == v }) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// total(records): the sum of their amounts, in minor units. Records of
// different currencies cannot be added.
func fnTotal(p ...any) (any, error) {
	if len(p) != 1 {
		return nil, errors.New("total(records)")
	}
	recs, err := toRecords(p[0])
	if err != nil {
		return nil, fmt.Errorf("total: %w", err)
	}
	return sumAmounts(recs)
}

func sumAmounts(recs []*RecordView) (any, error) {
	var sum int64
	cur := ""
	for _, r := range recs {
		if !r.HasAmount {
			continue
		}
		if cur != "" && r.Currency != cur {
			return nil, fmt.Errorf("total: cannot add %s and %s amounts", cur, r.Currency)
		}
		cur = r.Currency
		sum += r.Amount
	}
	return int(sum), nil
}

// uncovered(charges, refunds, "charge_id"): the records of the first list
// whose amount is not given back in full by the records of the second that
// carry the same value of the key type, in the same currency; amounts of
// zero or less in the second list count for nothing. A record of the first
// list without the key or an amount is uncovered.
func fnUncovered(p ...any) (any, error) {
	if len(p) != 3 {
		return nil, errors.New("uncovered(records, by, key_type)")
	}
	recs, err := toRecords(p[0])
	if err != nil {
		return nil, fmt.Errorf("uncovered: %w", err)
	}
	by, err := toRecords(p[1])
	if err != nil {
		return nil, fmt.Errorf("uncovered: %w", err)
	}
	key, ok := p[2].(string)
	if !ok {
		return nil, errors.New("uncovered: the key type must be a string")
	}
	out := make([]*RecordView, 0, len(recs))
	for _, r := range recs {
		v := r.Keys[key]
		var back int64
		for _, b := range by {
			if v != "" && b.Keys[key] == v && b.HasAmount && b.Amount > 0 && b.Currency == r.Currency {
				back += b.Amount
			}
		}
		if v == "" || !r.HasAmount || back < r.Amount {
			out = append(out, r)
		}
	}
	return out, nil
}

// ids(records, "charge_id"): the distinct values of a key, sorted.
func fnIDs(p ...any) (any, error) {
	if len(p) != 2 {
		return nil, errors.New("ids(records, key_type)")
	}
	recs, err := toRecords(p[0])
	if err != nil {
		return nil, fmt.Errorf("ids: %w", err)
	}
	key, _ := p[1].(string)
	return keyValues(recs, key), nil
}

func keyValues(recs []*RecordView, key string) []string {
	var out []string
	for _, r := range recs {
		if v := r.Keys[key]; v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// money(amount, currency): "45.99 EUR".
func fnMoney(p ...any) (any, error) {
	if len(p) != 2 {
		return nil, errors.New("money(amount, currency)")
	}
	var n int64
	switch v := p[0].(type) {
	case int:
		n = int64(v)
	case int64:
		n = v
	default:
		return nil, fmt.Errorf("money: amount must be an integer, got %T", p[0])
	}
	cur, _ := p[1].(string)
	return money.String(n, cur), nil
}

// FormatMoney writes minor units as a decimal with the currency code.
func FormatMoney(n int64, currency string) string { return money.String(n, currency) }
