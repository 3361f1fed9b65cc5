package rules

import (
	"reflect"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/vm"
	"github.com/expr-lang/expr/vm/runtime"
)

// The fast path: invariant programs compiled from expr's checked and
// optimised syntax tree into Go closures over the env types of this
// package, so that a million instances do not pay for expr's reflection
// (every field and map access in the VM goes through reflect) nine
// times each.
//
// It takes only the expressions invariants mostly use — members of the
// env, records and steps; indexes; filter/count/any/all/none/one, len,
// first, last, and find and findLast, which the optimiser makes of
// filter(...)[0] and last(filter(...)); distinct, ids, total;
// comparisons, logic, in, ??, arithmetic, arrays and conditionals; the
// conversion to bool of expr.AsBool — and mirrors, operation by
// operation, what expr's compiler emits for them: the same dereferences,
// the same runtime helpers (runtime.Equal, runtime.Less, runtime.In ...),
// the same value types ([]any from filter and array literals). A program
// with anything else is not compiled and runs on the VM. At run time,
// anything off the common path — a missing step, an index out of range,
// a value of an unexpected type, an error from a helper — gives up
// (bailout) and the caller runs the same program on the VM, which then
// produces the value or the error it always did. So the fast path never
// decides an outcome the VM would not: it only gets there sooner.
// fast_test.go checks this against the VM on generated instances.

// fastFn evaluates one compiled node.
type fastFn func(*fastCtx) any

// fastCtx is the state of one evaluation.
type fastCtx struct {
	env *InstanceEnv
	// ptr holds the current element of each enclosing predicate.
	ptr []any
	// scratch holds a helper's argument converted to records; bufs are
	// buffers of records free for takeBuf.
	scratch []*RecordView
	bufs    [][]*RecordView
	// mem counts the array elements built, against the VM's budget.
	mem int
	// vars are the variables of the invariant being evaluated, which
	// vars.name reads (Invariant.setVars); mapped is true when env.Vars
	// holds them too.
	vars   []boundVar
	mapped bool
	// lazy, when set, loads the record views built with only their kind
	// and ID (judge.env): the fast path loads a view before it reads
	// anything else of it, and all of them before record values go where
	// it does not follow what is read of them (the VM, a helper, expr's
	// runtime). Nil: every view is whole.
	lazy viewLoader
}

// viewLoader decodes the fields of lazily built record views. A view
// not loaded yet has its Kind and ID, and no Keys map.
type viewLoader interface {
	load(r *RecordView)
	loadAll()
}

// loaded returns r with all its fields.
func (c *fastCtx) loaded(r *RecordView) *RecordView {
	if r.Keys == nil && c.lazy != nil {
		c.lazy.load(r)
	}
	return r
}

// loadAll loads every view of the env.
func (c *fastCtx) loadAll() {
	if c.lazy != nil {
		c.lazy.loadAll()
	}
}

// loadList loads the views of a list a helper reads.
func (c *fastCtx) loadList(recs []*RecordView) {
	if c.lazy == nil {
		return
	}
	for _, r := range recs {
		if r != nil {
			c.loaded(r)
		}
	}
}

// plain loads every view unless a and b are plain values, before they
// go to one of expr's runtime functions, which may read a record whole
// (runtime.Equal compares two with reflect.DeepEqual).
func (c *fastCtx) plain(a, b any) {
	if c.lazy == nil || isPlain(a) && isPlain(b) {
		return
	}
	c.loadAll()
}

func isPlain(v any) bool {
	switch v.(type) {
	case nil, string, int, int64, float64, bool, time.Time, time.Duration:
		return true
	}
	return false
}

// varMap returns env.Vars holding the variables bound in c, filling it
// if it does not yet.
func (c *fastCtx) varMap(env *InstanceEnv) map[string]any {
	if !c.mapped {
		setVarMap(env, c.vars)
		c.mapped = true
	}
	return env.Vars
}

// lookupVar is vars.name: the variable's value, nil when the invariant
// has none of that name (a missing key of env.Vars). An invariant has a
// few variables: a list searched beats a map.
func (c *fastCtx) lookupVar(name string) any {
	for i := range c.vars {
		if c.vars[i].name == name {
			return c.vars[i].val
		}
	}
	return nil
}

// bailout is the panic value that abandons a fast evaluation.
type bailout struct{}

func bail() { panic(bailout{}) }

// fastProg is a program compiled to closures.
type fastProg struct {
	fn fastFn
}

// compileFast compiles p, or returns nil when it uses anything the fast
// path does not take.
func compileFast(p *vm.Program) *fastProg {
	if p == nil {
		return nil
	}
	fn, ok := fastCompile(p.Node())
	if !ok {
		return nil
	}
	if n := len(p.Bytecode); n > 0 && p.Bytecode[n-1] == vm.OpCast && p.Arguments[n-1] == castBool {
		// Compiled with expr.AsBool: the VM ends with runtime.ToBool,
		// which makes nil false and any other non-bool an error.
		inner := fn
		fn = func(c *fastCtx) any {
			switch v := inner(c).(type) {
			case nil:
				return false
			case bool:
				return v
			}
			bail()
			return nil
		}
	}
	return &fastProg{fn: fn}
}

// castBool is OpCast's argument for runtime.ToBool (vm.go).
const castBool = 3

// memoryBudget is the VM's: the elements of the arrays one run builds
// (filter results, array literals) may not reach it.
var memoryBudget = int(conf.DefaultMemoryBudget)

// grow counts n more array elements against the budget, as the VM's
// memGrow does; reaching it gives up (the VM then reports it).
func (c *fastCtx) grow(n int) {
	c.mem += n
	if c.mem >= memoryBudget {
		bail()
	}
}

// run evaluates the program; ok is false when it gave up, and the VM
// must run the program instead. Any panic gives up, so that one raised
// by a helper or the runtime — or by a bug here — costs only time.
func (f *fastProg) run(ctx *fastCtx, env *InstanceEnv) (out any, ok bool) {
	ctx.env, ctx.ptr, ctx.mem = env, ctx.ptr[:0], 0
	defer func() {
		if r := recover(); r != nil {
			out, ok = nil, false
		}
	}()
	return f.fn(ctx), true
}

// fastFuncs are the helpers a fast program may call, the same functions
// the VM calls.
var fastFuncs = map[string]func(...any) (any, error){
	"distinct":  fnDistinct,
	"total":     fnTotal,
	"ids":       fnIDs,
	"uncovered": fnUncovered,
}

func fastCompile(n ast.Node) (fastFn, bool) {
	switch n := n.(type) {
	case *ast.NilNode:
		return func(*fastCtx) any { return nil }, true
	case *ast.IntegerNode:
		v := any(n.Value)
		return func(*fastCtx) any { return v }, true
	case *ast.FloatNode:
		v := any(n.Value)
		return func(*fastCtx) any { return v }, true
	case *ast.BoolNode:
		v := any(n.Value)
		return func(*fastCtx) any { return v }, true
	case *ast.StringNode:
		v := any(n.Value)
		return func(*fastCtx) any { return v }, true
	case *ast.ConstantNode:
		v := n.Value
		return func(*fastCtx) any { return v }, true
	case *ast.IdentifierNode:
		return fastIdent(n.Value)
	case *ast.PointerNode:
		if n.Name != "" {
			return nil, false
		}
		return func(c *fastCtx) any {
			if len(c.ptr) == 0 {
				bail()
			}
			return c.ptr[len(c.ptr)-1]
		}, true
	case *ast.MemberNode:
		return fastMember(n)
	case *ast.BuiltinNode:
		return fastBuiltin(n)
	case *ast.CallNode:
		return fastCall(n)
	case *ast.UnaryNode:
		return fastUnary(n)
	case *ast.BinaryNode:
		return fastBinary(n)
	case *ast.ArrayNode:
		items := make([]fastFn, len(n.Nodes))
		for i, e := range n.Nodes {
			fn, ok := fastCompile(e)
			if !ok {
				return nil, false
			}
			items[i] = fn
		}
		return func(c *fastCtx) any {
			c.grow(len(items))
			out := make([]any, len(items))
			for i, fn := range items {
				out[i] = fn(c)
			}
			return out
		}, true
	case *ast.ConditionalNode:
		cond, ok1 := fastCompile(n.Cond)
		a, ok2 := fastCompile(n.Exp1)
		b, ok3 := fastCompile(n.Exp2)
		if !ok1 || !ok2 || !ok3 {
			return nil, false
		}
		return func(c *fastCtx) any {
			if asBool(cond(c)) {
				return a(c)
			}
			return b(c)
		}, true
	}
	return nil, false
}

func fastIdent(name string) (fastFn, bool) {
	switch name {
	case "root":
		return func(c *fastCtx) any { return c.env.Root }, true
	case "outcome":
		return func(c *fastCtx) any { return c.env.Outcome }, true
	case "records":
		return func(c *fastCtx) any { return c.env.Records }, true
	case "by_kind":
		return func(c *fastCtx) any { return c.env.ByKind }, true
	case "steps":
		return func(c *fastCtx) any { return c.env.Steps }, true
	case "vars":
		return func(c *fastCtx) any { return c.varMap(c.env) }, true
	}
	return nil, false
}

func asBool(v any) bool {
	b, ok := v.(bool)
	if !ok {
		bail()
	}
	return b
}

// withDeref wraps fn with the dereference expr's compiler emits after a
// node of pointer or interface type (derefInNeeded).
func withDeref(n ast.Node, fn fastFn) fastFn {
	if !needsDeref(n) {
		return fn
	}
	return func(c *fastCtx) any { return derefValue(c, fn(c)) }
}

func needsDeref(n ast.Node) bool {
	if n.Nature().Nil {
		return false
	}
	switch n.Type().Kind() {
	case reflect.Ptr, reflect.Interface:
		return true
	}
	return false
}

// derefValue is expr's deref.Interface (a record is copied whole, so
// loaded first).
func derefValue(c *fastCtx, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, int, int64, float64, bool, []any, []*RecordView, []string, map[string]string, map[string]any:
		return v
	case *RecordView:
		if x == nil {
			return nil
		}
		return *c.loaded(x)
	case *StepView:
		if x == nil {
			return nil
		}
		return *x
	}
	r := reflect.ValueOf(v)
	for r.Kind() == reflect.Ptr || r.Kind() == reflect.Interface {
		if r.IsNil() {
			return nil
		}
		r = r.Elem()
	}
	if r.IsValid() {
		return r.Interface()
	}
	bail()
	return nil
}

func fastMember(n *ast.MemberNode) (fastFn, bool) {
	if n.Optional || n.Method {
		return nil, false
	}
	obj, ok := fastCompile(n.Node)
	if !ok {
		return nil, false
	}
	if s, ok := n.Property.(*ast.StringNode); ok {
		return fastNamed(n, obj, s.Value), true
	}
	prop, ok := fastCompile(n.Property)
	if !ok {
		return nil, false
	}
	return func(c *fastCtx) any {
		o := obj(c)
		switch p := prop(c).(type) {
		case string:
			return fetchName(c, o, p)
		case int:
			return fetchIndex(o, p)
		}
		bail()
		return nil
	}, true
}

// fastNamed is a member with a constant name: where the receiver is one
// of the env's own, the access is made directly; else, or when the
// receiver turns out to be of another type, as fetchName makes it.
func fastNamed(n *ast.MemberNode, obj fastFn, name string) fastFn {
	if id, ok := n.Node.(*ast.IdentifierNode); ok {
		switch id.Value {
		case "steps":
			return func(c *fastCtx) any { return c.env.Steps[name] }
		case "vars":
			return func(c *fastCtx) any { return c.lookupVar(name) }
		case "by_kind":
			return func(c *fastCtx) any { return c.env.ByKind[name] }
		}
	}
	if inner, ok := n.Node.(*ast.MemberNode); ok && !inner.Optional && !inner.Method {
		if id, ok := inner.Node.(*ast.IdentifierNode); ok && id.Value == "steps" {
			if step, ok := inner.Property.(*ast.StringNode); ok {
				if get := stepGetter(name); get != nil {
					// steps.capture_payment.succeeded
					stepName := step.Value
					return func(c *fastCtx) any {
						sv := c.env.Steps[stepName]
						if sv == nil {
							bail()
						}
						return get(sv)
					}
				}
			}
		}
	}
	if get := recordGetter(name); get != nil {
		// A view's kind and ID are there before it is loaded.
		load := name != "kind" && name != "id"
		return func(c *fastCtx) any {
			o := obj(c)
			if r, ok := o.(*RecordView); ok && r != nil {
				if load {
					c.loaded(r)
				}
				return get(r)
			}
			return fetchName(c, o, name)
		}
	}
	return func(c *fastCtx) any { return fetchName(c, obj(c), name) }
}

// stepGetter returns the accessor of a step's field, or nil.
func stepGetter(name string) func(*StepView) any {
	switch name {
	case "state":
		return func(s *StepView) any { return s.State }
	case "attempts":
		return func(s *StepView) any { return s.Attempts }
	}
	if list := stepListGetter(name); list != nil {
		return func(s *StepView) any { return list(s) }
	}
	return nil
}

// stepListGetter returns the accessor of a step's list of records, or nil.
func stepListGetter(name string) func(*StepView) []*RecordView {
	switch name {
	case "requested":
		return func(s *StepView) []*RecordView { return s.Requested }
	case "succeeded":
		return func(s *StepView) []*RecordView { return s.Succeeded }
	case "failed":
		return func(s *StepView) []*RecordView { return s.Failed }
	case "unknown":
		return func(s *StepView) []*RecordView { return s.Unknown }
	case "evidence":
		return func(s *StepView) []*RecordView { return s.Evidence }
	}
	return nil
}

// fastRecordSeq is fastRecordList, and also takes list ?? [] (the usual
// by_kind.order ?? []), for the builtins and helpers that go over a list:
// for them, an empty list and none are the same. (Not for ?? itself: a
// nil list and [] are not.)
func fastRecordSeq(n ast.Node) func(*fastCtx) []*RecordView {
	if b, ok := n.(*ast.BinaryNode); ok && b.Operator == "??" {
		if a, ok := b.Right.(*ast.ArrayNode); ok && len(a.Nodes) == 0 {
			return fastRecordList(b.Left)
		}
		return nil
	}
	return fastRecordList(n)
}

// fastRecordList compiles a node that is one of the env's own lists of
// records — steps.capture_payment.succeeded, by_kind.order — to a
// function that returns it as it is: the builtins and helpers that go
// over a list take it so, where the value fastCompile returns would be
// boxed in an interface, which allocates. The same values, the same
// bailouts as fastNamed's. Nil for any other node.
func fastRecordList(n ast.Node) func(*fastCtx) []*RecordView {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return nil
	}
	name, ok := m.Property.(*ast.StringNode)
	if !ok {
		return nil
	}
	if id, ok := m.Node.(*ast.IdentifierNode); ok && id.Value == "by_kind" {
		kind := name.Value
		return func(c *fastCtx) []*RecordView { return c.env.ByKind[kind] }
	}
	inner, ok := m.Node.(*ast.MemberNode)
	if !ok || inner.Optional || inner.Method {
		return nil
	}
	id, ok := inner.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "steps" {
		return nil
	}
	step, ok := inner.Property.(*ast.StringNode)
	get := stepListGetter(name.Value)
	if !ok || get == nil {
		return nil
	}
	stepName := step.Value
	return func(c *fastCtx) []*RecordView {
		sv := c.env.Steps[stepName]
		if sv == nil {
			bail()
		}
		return get(sv)
	}
}

// recordGetter returns the accessor of a record's field, or nil.
func recordGetter(name string) func(*RecordView) any {
	if str := recordStrGetter(name); str != nil {
		return func(r *RecordView) any { return str(r) }
	}
	switch name {
	case "amount":
		return func(r *RecordView) any { return r.Amount }
	case "has_amount":
		return func(r *RecordView) any { return r.HasAmount }
	case "time":
		return func(r *RecordView) any { return r.Time }
	case "keys":
		return func(r *RecordView) any { return r.Keys }
	case "attrs":
		return func(r *RecordView) any { return r.Attrs }
	case "id":
		return func(r *RecordView) any { return r.ID }
	}
	return nil
}

// recordStrGetter returns the accessor of a record's string field, or nil.
func recordStrGetter(name string) func(*RecordView) string {
	switch name {
	case "kind":
		return func(r *RecordView) string { return r.Kind }
	case "status":
		return func(r *RecordView) string { return r.Status }
	case "source":
		return func(r *RecordView) string { return r.Source }
	case "currency":
		return func(r *RecordView) string { return r.Currency }
	}
	return nil
}

// fastStr compiles a node that yields a string from the env's own types
// without boxing it; other values give up. Nil when the node is not one
// it knows.
func fastStr(n ast.Node) func(*fastCtx) string {
	switch n := n.(type) {
	case *ast.StringNode:
		v := n.Value
		return func(*fastCtx) string { return v }
	case *ast.IdentifierNode:
		switch n.Value {
		case "root":
			return func(c *fastCtx) string { return c.env.Root }
		case "outcome":
			return func(c *fastCtx) string { return c.env.Outcome }
		}
	case *ast.MemberNode:
		p, ok := n.Property.(*ast.StringNode)
		if !ok || n.Optional || n.Method {
			return nil
		}
		name := p.Value
		if inner, ok := n.Node.(*ast.MemberNode); ok && !inner.Optional && !inner.Method {
			if id, ok := inner.Node.(*ast.IdentifierNode); ok && id.Value == "steps" && name == "state" {
				if step, ok := inner.Property.(*ast.StringNode); ok {
					// steps.refund_payment.state
					stepName := step.Value
					return func(c *fastCtx) string {
						sv := c.env.Steps[stepName]
						if sv == nil {
							bail()
						}
						return sv.State
					}
				}
			}
			if k, ok := inner.Property.(*ast.StringNode); ok && (k.Value == "keys" || k.Value == "attrs") {
				// record.keys.charge_id, record.attrs.reason
				rec, ok := fastCompile(inner.Node)
				if !ok {
					return nil
				}
				keys := k.Value == "keys"
				return func(c *fastCtx) string {
					r := c.loaded(recordOf(rec(c)))
					if keys {
						return r.Keys[name]
					}
					return r.Attrs[name]
				}
			}
		}
		get := recordStrGetter(name)
		if get == nil {
			return nil
		}
		rec, ok := fastCompile(n.Node)
		if !ok {
			return nil
		}
		if name == "kind" {
			// there before the view is loaded
			return func(c *fastCtx) string { return get(recordOf(rec(c))) }
		}
		return func(c *fastCtx) string { return get(c.loaded(recordOf(rec(c)))) }
	}
	return nil
}

// fastInt compiles a record's amount (vars.order.amount) to a function
// that returns it without boxing it, which allocates; it gives up where
// the value is not a record's. Nil for any other node.
func fastInt(n ast.Node) func(*fastCtx) int64 {
	m, ok := n.(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return nil
	}
	if p, ok := m.Property.(*ast.StringNode); !ok || p.Value != "amount" {
		return nil
	}
	rec, ok := fastCompile(m.Node)
	if !ok {
		return nil
	}
	return func(c *fastCtx) int64 { return c.loaded(recordOf(rec(c))).Amount }
}

// recordOf is a record value, or gives up.
func recordOf(v any) *RecordView {
	switch r := v.(type) {
	case *RecordView:
		if r != nil {
			return r
		}
	case RecordView:
		return &r
	}
	bail()
	return nil
}

// fetchName is runtime.Fetch with a name, for the env's own types.
func fetchName(c *fastCtx, o any, name string) any {
	switch x := o.(type) {
	case map[string]*StepView:
		return x[name]
	case map[string][]*RecordView:
		return x[name]
	case map[string]any:
		return x[name]
	case map[string]string:
		return x[name]
	case *StepView:
		if x == nil {
			bail()
		}
		return stepField(x, name)
	case StepView:
		return stepField(&x, name)
	case *RecordView:
		if x == nil {
			bail()
		}
		return recordField(c.loaded(x), name)
	case RecordView:
		return recordField(&x, name)
	}
	bail()
	return nil
}

func stepField(s *StepView, name string) any {
	get := stepGetter(name)
	if get == nil {
		bail()
	}
	return get(s)
}

func recordField(r *RecordView, name string) any {
	get := recordGetter(name)
	if get == nil {
		bail()
	}
	return get(r)
}

// fetchIndex is runtime.Fetch with an index: negative counts from the end.
func fetchIndex(o any, i int) any {
	switch x := o.(type) {
	case []*RecordView:
		return x[index(i, len(x))]
	case []any:
		return x[index(i, len(x))]
	case []string:
		return x[index(i, len(x))]
	}
	bail()
	return nil
}

func index(i, n int) int {
	if i < 0 {
		i += n
	}
	if i < 0 || i >= n {
		bail()
	}
	return i
}

// seq is the list a loop builtin goes over (OpBegin).
type seq struct {
	recs []*RecordView
	anys []any
	strs []string
	n    int
}

func elems(v any) seq {
	switch x := v.(type) {
	case []*RecordView:
		return seq{recs: x, n: len(x)}
	case []any:
		return seq{anys: x, n: len(x)}
	case []string:
		return seq{strs: x, n: len(x)}
	}
	bail()
	return seq{}
}

func (s *seq) at(i int) any {
	switch {
	case s.recs != nil:
		return s.recs[i]
	case s.anys != nil:
		return s.anys[i]
	}
	return s.strs[i]
}

func fastBuiltin(n *ast.BuiltinNode) (fastFn, bool) {
	args := make([]fastFn, len(n.Arguments))
	for i, a := range n.Arguments {
		if p, ok := a.(*ast.PredicateNode); ok {
			a = p.Node
		}
		fn, ok := fastCompile(a)
		if !ok {
			return nil, false
		}
		args[i] = fn
	}
	switch n.Name {
	case "len", "first", "last":
		if len(args) != 1 {
			return nil, false
		}
		// Builtin arguments of pointer or unknown type are dereferenced.
		arg := args[0]
		a := n.Arguments[0]
		if a.Type().Kind() == reflect.Ptr || a.Type().Kind() == reflect.Interface {
			arg = func(c *fastCtx) any { return derefValue(c, args[0](c)) }
		}
		if recs := fastRecordSeq(a); recs != nil {
			switch n.Name {
			case "len":
				return func(c *fastCtx) any { return len(recs(c)) }, true
			case "first", "last":
				first := n.Name == "first"
				return func(c *fastCtx) any {
					l := recs(c)
					switch {
					case len(l) == 0:
						return nil
					case first:
						return l[0]
					}
					return l[len(l)-1]
				}, true
			}
		}
		switch n.Name {
		case "len":
			return func(c *fastCtx) any { return length(arg(c)) }, true
		case "first":
			return func(c *fastCtx) any { return end(arg(c), true) }, true
		default:
			return func(c *fastCtx) any { return end(arg(c), false) }, true
		}
	case "filter", "count", "any", "all", "none", "one", "find", "findLast":
	default:
		return nil, false
	}
	if n.Map != nil || len(args) != 2 {
		return nil, false
	}
	if _, ok := n.Arguments[1].(*ast.PredicateNode); !ok {
		return nil, false
	}
	list, pred := withDeref(n.Arguments[0], args[0]), args[1]
	items := func(c *fastCtx) seq { return elems(list(c)) }
	if recs := fastRecordSeq(n.Arguments[0]); recs != nil {
		// One of the env's lists, taken without boxing it.
		items = func(c *fastCtx) seq {
			l := recs(c)
			return seq{recs: l, n: len(l)}
		}
	}
	test := func(c *fastCtx, e any) bool {
		c.ptr = append(c.ptr, e)
		b := asBool(pred(c))
		c.ptr = c.ptr[:len(c.ptr)-1]
		return b
	}
	switch n.Name {
	case "filter":
		return func(c *fastCtx) any {
			s := items(c)
			var out []any
			for i := 0; i < s.n; i++ {
				if e := s.at(i); test(c, e) {
					out = append(out, e)
				}
			}
			c.grow(len(out))
			if out == nil {
				out = []any{}
			}
			return out
		}, true
	case "find", "findLast":
		// The optimiser's filter(...)[0] and last(filter(...)): with
		// Throws, finding nothing is an error.
		last, throws := n.Name == "findLast", n.Throws
		return func(c *fastCtx) any {
			s := items(c)
			for k := 0; k < s.n; k++ {
				i := k
				if last {
					i = s.n - 1 - k
				}
				if e := s.at(i); test(c, e) {
					return e
				}
			}
			if throws {
				bail()
			}
			return nil
		}, true
	case "count", "one":
		limit := -1
		if n.Threshold != nil {
			limit = *n.Threshold
		}
		one := n.Name == "one"
		return func(c *fastCtx) any {
			s := items(c)
			count := 0
			for i := 0; i < s.n; i++ {
				if test(c, s.at(i)) {
					count++
					if count == limit {
						break
					}
				}
			}
			if one {
				return count == 1
			}
			return count
		}, true
	}
	// any stops at the first match, all at the first miss, none at the
	// first match.
	stopOn, result := true, true // any
	switch n.Name {
	case "all":
		stopOn, result = false, false
	case "none":
		stopOn, result = true, false
	}
	return func(c *fastCtx) any {
		s := items(c)
		for i := 0; i < s.n; i++ {
			if test(c, s.at(i)) == stopOn {
				return result
			}
		}
		return !result
	}, true
}

// length is builtin len.
func length(v any) any {
	switch x := v.(type) {
	case []*RecordView:
		return len(x)
	case []any:
		return len(x)
	case []string:
		return len(x)
	case map[string]string:
		return len(x)
	case map[string]any:
		return len(x)
	case map[string][]*RecordView:
		return len(x)
	case map[string]*StepView:
		return len(x)
	case string:
		return utf8.RuneCountInString(x)
	}
	bail()
	return nil
}

// end is builtin first (or last): nil for an empty list.
func end(v any, first bool) any {
	s := elems(v)
	if s.n == 0 {
		return nil
	}
	if first {
		return s.at(0)
	}
	return s.at(s.n - 1)
}

func fastCall(n *ast.CallNode) (fastFn, bool) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return nil, false
	}
	f := fastFuncs[id.Value]
	if f == nil || len(n.Arguments) == 0 {
		return nil, false
	}
	args := make([]fastFn, len(n.Arguments))
	for i, a := range n.Arguments {
		fn, ok := fastCompile(a)
		if !ok {
			return nil, false
		}
		args[i] = fn
	}
	generic := func(c *fastCtx, first any) any {
		vals := make([]any, len(args))
		vals[0] = first
		for i, fn := range args[1:] {
			vals[i+1] = fn(c)
		}
		c.loadAll()
		out, err := f(vals...)
		if err != nil {
			bail()
		}
		return out
	}
	// The usual calls, on lists of records with a constant key type, go
	// to the helpers' cores without building an argument list.
	var key string
	if len(n.Arguments) == 2 {
		k, ok := n.Arguments[1].(*ast.StringNode)
		if !ok {
			return func(c *fastCtx) any { return generic(c, args[0](c)) }, true
		}
		key = k.Value
	}
	var core func(recs []*RecordView) (any, error)
	switch {
	case id.Value == "distinct" && len(args) == 2:
		core = func(recs []*RecordView) (any, error) { return distinctBy(recs, key), nil }
	case id.Value == "ids" && len(args) == 2:
		core = func(recs []*RecordView) (any, error) { return keyValues(recs, key), nil }
	case id.Value == "total" && len(args) == 1:
		core = sumAmounts
	}
	if core != nil {
		apply := func(c *fastCtx, recs []*RecordView) any {
			c.loadList(recs)
			out, err := core(recs)
			if err != nil {
				bail()
			}
			return out
		}
		if recs := fastRecordSeq(n.Arguments[0]); recs != nil {
			// distinct(steps.refund_payment.succeeded, "refund_id")
			return func(c *fastCtx) any { return apply(c, recs(c)) }, true
		}
		if filter := fastFilterRecords(n.Arguments[0]); filter != nil {
			// distinct(filter(steps.capture_payment.succeeded, .kind ==
			// "charge"), "charge_id"): the records filter keeps go to the
			// helper in a buffer of the context, not in the []any filter
			// returns, which the helper would convert back. The helpers
			// keep nothing of their argument. (A bail unwinds past putBuf:
			// the buffer is then left to the collector.)
			return func(c *fastCtx) any {
				buf := filter(c, c.takeBuf())
				out := apply(c, buf)
				c.putBuf(buf)
				return out
			}, true
		}
		list := args[0]
		return func(c *fastCtx) any {
			v := list(c)
			recs, ok := c.records(v)
			if !ok {
				return generic(c, v)
			}
			return apply(c, recs)
		}, true
	}
	return func(c *fastCtx) any { return generic(c, args[0](c)) }, true
}

// fastFilterRecords compiles filter(list, predicate) over one of the
// env's lists of records (fastRecordSeq) to a function that appends the
// records it keeps to buf, as filter's fast path and the VM keep them and
// count them against the memory budget; nil for any other node.
func fastFilterRecords(n ast.Node) func(c *fastCtx, buf []*RecordView) []*RecordView {
	b, ok := n.(*ast.BuiltinNode)
	if !ok || b.Name != "filter" || b.Map != nil || len(b.Arguments) != 2 {
		return nil
	}
	p, ok := b.Arguments[1].(*ast.PredicateNode)
	if !ok {
		return nil
	}
	recs := fastRecordSeq(b.Arguments[0])
	if recs == nil {
		return nil
	}
	pred, ok := fastCompile(p.Node)
	if !ok {
		return nil
	}
	return func(c *fastCtx, buf []*RecordView) []*RecordView {
		for _, r := range recs(c) {
			c.ptr = append(c.ptr, r)
			keep := asBool(pred(c))
			c.ptr = c.ptr[:len(c.ptr)-1]
			if keep {
				buf = append(buf, r)
			}
		}
		c.grow(len(buf))
		return buf
	}
}

// takeBuf returns an empty buffer of records that only the caller uses
// until it gives it back (putBuf): a predicate may call a helper that
// takes one too.
func (c *fastCtx) takeBuf() []*RecordView {
	if n := len(c.bufs); n > 0 {
		b := c.bufs[n-1]
		c.bufs = c.bufs[:n-1]
		return b[:0]
	}
	return nil
}

func (c *fastCtx) putBuf(b []*RecordView) { c.bufs = append(c.bufs, b[:0]) }

// records is a list of records as the helpers take it, in scratch memory
// when it must be converted; false for anything else (nil, one record),
// which the helpers themselves convert.
func (c *fastCtx) records(v any) ([]*RecordView, bool) {
	switch x := v.(type) {
	case []*RecordView:
		return x, true
	case []any:
		c.scratch = c.scratch[:0]
		for _, e := range x {
			r, ok := e.(*RecordView)
			if !ok {
				return nil, false
			}
			c.scratch = append(c.scratch, r)
		}
		return c.scratch, true
	}
	return nil, false
}

func fastUnary(n *ast.UnaryNode) (fastFn, bool) {
	fn, ok := fastCompile(n.Node)
	if !ok {
		return nil, false
	}
	fn = withDeref(n.Node, fn)
	switch n.Operator {
	case "!", "not":
		return func(c *fastCtx) any { return !asBool(fn(c)) }, true
	case "-":
		return func(c *fastCtx) any {
			v := fn(c)
			c.plain(v, nil)
			return runtime.Negate(v)
		}, true
	}
	return nil, false
}

func fastBinary(n *ast.BinaryNode) (fastFn, bool) {
	l, ok1 := fastCompile(n.Left)
	r, ok2 := fastCompile(n.Right)
	if !ok1 || !ok2 {
		return nil, false
	}
	op := n.Operator
	// x == nil, x != nil: runtime.Equal(x, nil) is runtime.IsNil(x), and
	// the dereference of a record or step pointer need not be made.
	if op == "==" || op == "!=" {
		var other ast.Node
		var fn fastFn
		if _, ok := n.Right.(*ast.NilNode); ok {
			other, fn = n.Left, l
		} else if _, ok := n.Left.(*ast.NilNode); ok {
			other, fn = n.Right, r
		}
		if other != nil {
			deref := needsDeref(other)
			eq := op == "=="
			return func(c *fastCtx) any {
				v := fn(c)
				switch x := v.(type) {
				case *RecordView:
					return (x == nil) == eq
				case *StepView:
					return (x == nil) == eq
				}
				if deref {
					v = derefValue(c, v)
				}
				return runtime.IsNil(v) == eq
			}, true
		}
	}
	if op == "==" || op == "!=" {
		// Two strings compare without boxing either.
		if ls, rs := fastStr(n.Left), fastStr(n.Right); ls != nil && rs != nil {
			eq := op == "=="
			return func(c *fastCtx) any { return (ls(c) == rs(c)) == eq }, true
		}
		// Two amounts too (runtime.Equal of two int64 is ==).
		if li, ri := fastInt(n.Left), fastInt(n.Right); li != nil && ri != nil {
			eq := op == "=="
			return func(c *fastCtx) any { return (li(c) == ri(c)) == eq }, true
		}
	}
	l, r = withDeref(n.Left, l), withDeref(n.Right, r)
	switch op {
	case "==":
		return func(c *fastCtx) any { return equal(c, l(c), r(c)) }, true
	case "!=":
		return func(c *fastCtx) any { return !equal(c, l(c), r(c)) }, true
	case "<":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.Less(a, b)
		}, true
	case "<=":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.LessOrEqual(a, b)
		}, true
	case ">":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.More(a, b)
		}, true
	case ">=":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.MoreOrEqual(a, b)
		}, true
	case "+":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.Add(a, b)
		}, true
	case "-":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.Subtract(a, b)
		}, true
	case "*":
		return func(c *fastCtx) any {
			a, b := l(c), r(c)
			c.plain(a, b)
			return runtime.Multiply(a, b)
		}, true
	case "&&", "and":
		return func(c *fastCtx) any {
			if !asBool(l(c)) {
				return false
			}
			return asBool(r(c))
		}, true
	case "||", "or":
		return func(c *fastCtx) any {
			if asBool(l(c)) {
				return true
			}
			return asBool(r(c))
		}, true
	case "??":
		if recs := fastRecordList(n.Left); recs != nil {
			// by_kind.order ?? []: runtime.IsNil of a list is whether
			// it is nil, no reflection needed.
			return func(c *fastCtx) any {
				if l := recs(c); l != nil {
					return l
				}
				return r(c)
			}, true
		}
		return func(c *fastCtx) any {
			if v := l(c); !runtime.IsNil(v) {
				return v
			}
			return r(c)
		}, true
	case "in":
		if needle := fastStr(n.Left); needle != nil {
			return func(c *fastCtx) any {
				s := needle(c)
				list := r(c)
				if xs, ok := list.([]string); ok {
					return slices.Contains(xs, s)
				}
				c.plain(list, nil)
				return runtime.In(s, list)
			}, true
		}
		return func(c *fastCtx) any {
			needle, list := l(c), r(c)
			if s, ok := needle.(string); ok {
				if xs, ok := list.([]string); ok {
					for _, x := range xs {
						if x == s {
							return true
						}
					}
					return false
				}
			}
			c.plain(needle, list)
			return runtime.In(needle, list)
		}, true
	}
	return nil, false
}

// equal is runtime.Equal, with the common string case first.
func equal(c *fastCtx, a, b any) bool {
	if x, ok := a.(string); ok {
		if y, ok := b.(string); ok {
			return x == y
		}
	}
	c.plain(a, b)
	return runtime.Equal(a, b)
}
