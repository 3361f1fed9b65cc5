package rules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"go.yaml.in/yaml/v3"

	"github.com/vitals-dev/vitals/record"
)

// fastCases are expressions the fast path must take, covering each
// kind of node it compiles, and the ways each can fail at run time.
var fastCases = []string{
	// the checkout invariants
	`distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")`,
	`ids(steps.refund_payment.succeeded, "charge_id")`,
	`count(vars.charges, .keys.charge_id not in vars.refunded) <= 1`,
	`first(by_kind.order ?? [])`,
	`len(vars.charges) == 1 && vars.order != nil`,
	`vars.charges[0].amount == vars.order.amount && vars.charges[0].currency == vars.order.currency`,
	`distinct(steps.refund_payment.succeeded, "refund_id")`,
	`len(vars.refunds) > 0`,
	`total(vars.refunds) <= total(vars.charges)`,
	`count(uncovered(vars.charges, vars.refunds, "charge_id"), .keys.charge_id not in vars.refunded || .keys.charge_id in ids(filter(steps.refund_payment.succeeded, .kind == "refund"), "charge_id")) <= 1`,
	`steps.refund_payment.state == "compensated" && len(vars.charges) > 0 && len(vars.refunds) > 0`,
	`all(vars.charges, .currency == vars.charges[0].currency) && all(vars.refunds, .currency == vars.charges[0].currency && .amount > 0) && total(vars.refunds) >= total(vars.charges)`,
	`uncovered(records, filter(records, .kind == "refund"), "charge_id")`,
	// members, indexes, nil
	`steps.capture_payment.state == "succeeded" and steps.capture_payment.attempts >= 1`,
	`steps.no_such_step.state`,
	`steps.capture_payment.failed`,
	`steps.refund_payment.unknown`,
	`steps.capture_payment.requested`,
	`steps.capture_payment.evidence`,
	`records[0].kind`,
	`records[-1].amount`,
	`records[7].kind`,
	`records[0].has_amount || records[0].source == "x"`,
	`records[0].time`,
	`records[0].id`,
	`records[0].attrs.reason`,
	`records[0].keys.charge_id`,
	`records[0].keys["refund_id"]`,
	`by_kind.order`,
	`by_kind.nothing ?? []`,
	`by_kind.nothing == nil`,
	`nil != by_kind.order`,
	`vars.order == nil`,
	`vars.missing ?? "none"`,
	`vars.order.amount`,
	`vars.charges[1].keys.charge_id`,
	`root`,
	`outcome != "completed"`,
	`len(root)`,
	// builtins
	`filter(records, .currency == "EUR")`,
	`count(records, .has_amount)`,
	`any(records, .amount > 5000)`,
	`all(records, .kind != "")`,
	`none(records, .kind == "refund")`,
	`one(records, .kind == "order")`,
	`first(records)`,
	`last(records)`,
	`first(vars.refunded)`,
	`last(filter(records, .kind == "charge"))`,
	`len(filter(records, .kind == "charge" && .keys.charge_id != ""))`,
	`count(records, any(steps.capture_payment.succeeded, .keys.charge_id == "ch_1"))`,
	`filter(records, .amount > 100)[0].amount`,
	`filter(records, .amount > 100)[0]`,
	`filter(records, .amount > 100)[-1]`,
	`last(filter(records, .amount > 100))`,
	`first(filter(records, .amount > 100))`,
	`len(by_kind)`,
	`len(records[0].keys)`,
	// helpers, arithmetic, logic
	`total(records)`,
	`total(vars.order)`,
	`distinct(vars.order, "charge_id")`,
	`ids(records[0], "charge_id")`,
	`ids(records, root)`,
	`distinct(filter(records, .kind == "refund"), "refund_id")`,
	`records[0].kind == records[-1].kind`,
	`records[0].keys.charge_id == vars.order.keys.charge_id`,
	`steps.capture_payment.state != outcome`,
	`vars.order.kind == "order"`,
	`first(records).status in ["failed", "pending"]`,
	`total(filter(records, .currency == "EUR")) + 1 - 2 * 3`,
	`-records[0].amount`,
	`"ch_1" in ids(records, "charge_id")`,
	`records[0].keys.charge_id in ["ch_1", "ch_2"]`,
	`records[0].kind in by_kind`,
	`not (outcome == "completed")`,
	`!any(records, .kind == "refund")`,
	`root == "o_1" ? 1 : 2`,
	`len(records) > 2 ? records[2].kind : "none"`,
	`[vars.order, first(records)]`,
	`vars.charges ?? []`,
	`records[0].amount < records[-1].amount`,
	`records[0].amount > 0.5`,
	`records[0].time >= records[-1].time`,
	`vars.order.amount <= total(vars.charges)`,
	`vars.order.currency != vars.charges[0].currency`,
	// the env's own lists, taken unboxed (fastRecordList), and
	// distinct/ids/total over a filter of them (fastFilterRecords)
	`len(steps.capture_payment.succeeded)`,
	`len(by_kind.nothing)`,
	`first(steps.refund_payment.succeeded)`,
	`last(by_kind.charge)`,
	`first(steps.no_such_step.failed)`,
	`count(steps.capture_payment.evidence, .amount > 0)`,
	`any(by_kind.refund, .kind == "refund")`,
	`all(steps.no_such_step.succeeded, .has_amount)`,
	`filter(steps.capture_payment.succeeded, .amount > 100)[0]`,
	`filter(by_kind.charge, .amount > 100)`,
	`none(steps.refund_payment.requested, vars.order)`,
	`by_kind.order ?? []`,
	`by_kind.nothing ?? "none"`,
	`steps.no_such_step.succeeded ?? []`,
	`total(by_kind.charge)`,
	`ids(steps.capture_payment.failed, "charge_id")`,
	`distinct(filter(steps.refund_payment.failed, .kind == "refund"), "refund_id")`,
	`total(filter(by_kind.charge, .currency == "EUR"))`,
	`ids(filter(steps.capture_payment.succeeded, .has_amount), "charge_id")`,
	`distinct(filter(steps.no_such_step.succeeded, .has_amount), "charge_id")`,
	`distinct(filter(steps.capture_payment.succeeded, vars.order), "charge_id")`,
	`distinct(filter(steps.capture_payment.succeeded, len(distinct(filter(steps.refund_payment.succeeded, .keys.charge_id == "ch_1"), "refund_id")) > 0), "charge_id")`,
	`total(filter(steps.capture_payment.succeeded, any(ids(filter(steps.refund_payment.succeeded, .has_amount), "charge_id"), # == "ch_2")))`,
	`len(by_kind.nothing ?? [])`,
	`last(by_kind.charge ?? [])`,
	`count(by_kind.charge ?? [], .has_amount)`,
	`distinct(by_kind.refund ?? [], "refund_id")`,
	`total(filter(by_kind.nothing ?? [], .has_amount))`,
	`(by_kind.nothing ?? []) ?? "x"`,
	`(by_kind.order ?? []) ?? "x"`,
	// strings and amounts compared unboxed
	`steps.refund_payment.state == "compensated"`,
	`steps.no_such_step.state != "x"`,
	`steps.capture_payment.state == outcome`,
	`vars.order.amount != first(records).amount`,
	`records[0].amount == vars.missing.amount`,
	`vars.order.amount == vars.order.amount`,
	`vars.charges[1].amount == records[-1].amount`,
}

// TestFastMatchesVM runs every case on generated instances on the VM and
// on the fast path: wherever the fast path gives an answer, it must be
// the VM's; it may give up only where the VM fails or on unusual values.
func TestFastMatchesVM(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	envs := make([]*InstanceEnv, 400)
	for i := range envs {
		envs[i] = randomEnv(rng, i)
	}
	var machine vm.VM
	ctx := &fastCtx{}
	type program struct {
		src string
		p   *vm.Program
	}
	var progs []program
	for _, src := range fastCases {
		p, err := expr.Compile(src, options()...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		progs = append(progs, program{src, p})
		// when and expr are compiled to end in a conversion to bool
		// (nil is false, anything else not a bool an error)
		if p, err := expr.Compile(src, options(expr.AsBool())...); err == nil {
			progs = append(progs, program{src + " [as bool]", p})
		}
	}
	for _, src := range []string{`vars.typo`, `vars.order`, `first(vars.refunded)`, `len(records) > 1 ? vars.missing : true`, `first(by_kind.order ?? [])`} {
		p, err := expr.Compile(src, options(expr.AsBool())...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		progs = append(progs, program{src + " [as bool]", p})
	}
	for _, pr := range progs {
		src, p := pr.src, pr.p
		f := compileFast(p)
		if f == nil {
			t.Errorf("%s: not taken by the fast path", src)
			continue
		}
		answered, bailed, vmOK := 0, 0, 0
		for i, env := range envs {
			want, werr := machine.Run(p, env)
			if werr == nil {
				vmOK++
			}
			bindVars(ctx, env)
			got, ok := f.run(ctx, env)
			if !ok {
				bailed++
				continue
			}
			answered++
			if werr != nil {
				t.Errorf("%s, instance %d: fast path answered %v where the VM failed: %v", src, i, got, werr)
				continue
			}
			if !reflect.DeepEqual(got, want) || reflect.TypeOf(got) != reflect.TypeOf(want) {
				t.Errorf("%s, instance %d: fast path %#v (%T), VM %#v (%T)", src, i, got, got, want, want)
			}
			// Again with views holding only their kind and ID until
			// the fast path loads them, as the judge builds them.
			lenv, loader := lazyEnv(env)
			bindVars(ctx, lenv)
			ctx.lazy = loader
			got, ok = f.run(ctx, lenv)
			ctx.lazy = nil
			if !ok {
				continue // it may give up on lazy views where it did not
			}
			loader.loadAll() // to compare the records got with the VM's
			if !reflect.DeepEqual(got, want) || reflect.TypeOf(got) != reflect.TypeOf(want) {
				t.Errorf("%s, instance %d, lazy views: fast path %#v (%T), VM %#v (%T)", src, i, got, got, want, want)
			}
		}
		if answered == 0 && vmOK > 0 {
			t.Errorf("%s: the fast path gave up on all %d instances", src, bailed)
		}
	}
}

// copyLoader loads the views of lazyEnv from the originals.
type copyLoader struct {
	orig  map[*RecordView]*RecordView
	views []*RecordView
}

func (l *copyLoader) load(r *RecordView) { *r = *l.orig[r] }

func (l *copyLoader) loadAll() {
	for _, v := range l.views {
		if v.Keys == nil {
			l.load(v)
		}
	}
}

// lazyEnv copies env with views holding only their kind and ID until
// loaded, as judge.env builds them for the fast path (variables
// included: they hold views of the env).
func lazyEnv(env *InstanceEnv) (*InstanceEnv, *copyLoader) {
	l := &copyLoader{orig: map[*RecordView]*RecordView{}}
	copies := map[*RecordView]*RecordView{}
	view := func(r *RecordView) *RecordView {
		if r == nil {
			return nil
		}
		if v, ok := copies[r]; ok {
			return v
		}
		v := &RecordView{RecordEnv: RecordEnv{Kind: r.Kind}, ID: r.ID}
		copies[r], l.orig[v] = v, r
		l.views = append(l.views, v)
		return v
	}
	list := func(rs []*RecordView) []*RecordView {
		if rs == nil {
			return nil
		}
		out := make([]*RecordView, len(rs))
		for i, r := range rs {
			out[i] = view(r)
		}
		return out
	}
	out := &InstanceEnv{Root: env.Root, Outcome: env.Outcome, Records: list(env.Records),
		ByKind: map[string][]*RecordView{}, Steps: map[string]*StepView{}}
	for k, rs := range env.ByKind {
		out.ByKind[k] = list(rs)
	}
	for k, s := range env.Steps {
		c := *s
		c.Requested, c.Succeeded, c.Failed, c.Unknown, c.Evidence = list(s.Requested), list(s.Succeeded), list(s.Failed), list(s.Unknown), list(s.Evidence)
		out.Steps[k] = &c
	}
	if env.Vars != nil {
		out.Vars = map[string]any{}
		for k, v := range env.Vars {
			switch x := v.(type) {
			case []*RecordView:
				v = list(x)
			case *RecordView:
				v = view(x)
			case []any:
				c := make([]any, len(x))
				for i, e := range x {
					if r, ok := e.(*RecordView); ok {
						e = view(r)
					}
					c[i] = e
				}
				v = c
			}
			out.Vars[k] = v
		}
	}
	return out, l
}

// bindVars binds env.Vars in ctx, as Invariant.setVars does.
func bindVars(ctx *fastCtx, env *InstanceEnv) {
	ctx.vars = ctx.vars[:0]
	for name, v := range env.Vars {
		ctx.vars = append(ctx.vars, boundVar{name, v})
	}
	ctx.mapped = true
}

// TestFastMemoryBudget: the VM refuses to build more than its memory
// budget of array elements in one run; the fast path must not answer
// where it does.
func TestFastMemoryBudget(t *testing.T) {
	env := &InstanceEnv{ByKind: map[string][]*RecordView{}, Steps: map[string]*StepView{}}
	for i := range 1001 {
		env.Records = append(env.Records, &RecordView{ID: record.ID(i), RecordEnv: RecordEnv{Kind: "charge", Amount: 1, HasAmount: true}})
	}
	env.ByKind["charge"] = env.Records
	var machine vm.VM
	for _, src := range []string{
		`all(records, any(filter(records, .kind == "charge"), .amount > 0))`, // 1001 x 1001 elements
		`all(records, len([1, 2, 3]) == 3)`,                                  // 3,003
		`all(records, len(distinct(filter(by_kind.charge, .amount > 0), "charge_id")) >= 0)`,
	} {
		p, err := expr.Compile(src, options()...)
		if err != nil {
			t.Fatal(err)
		}
		want, werr := machine.Run(p, env)
		f := compileFast(p)
		if f == nil {
			t.Fatalf("%s: not taken by the fast path", src)
		}
		got, ok := f.run(&fastCtx{}, env)
		switch {
		case werr != nil && ok:
			t.Errorf("%s: the VM fails (%v), the fast path answers %v", src, werr, got)
		case werr == nil && (!ok || got != want):
			t.Errorf("%s: the VM answers %v, the fast path %v (answered: %v)", src, want, got, ok)
		}
	}
}

// TestFastRefuses: expressions with anything the fast path does not
// take are left to the VM whole.
func TestFastRefuses(t *testing.T) {
	for _, src := range []string{
		`steps?.capture_payment?.state`,
		`map(records, .amount)`,
		`sum(map(records, .amount))`,
		`upper(root)`,
		`toJSON(records)`,
		`money(1, "EUR")`,
		`sprintf("%v", root)`,
		`records[0:1]`,
		`$env.root`,
		`let x = 1; x + 1`,
		`filter(records, .amount > 1)[0:1]`,
		`reduce(records, #acc + .amount, 0)`,
		`root matches "^o_"`,
		`root startsWith "o"`,
		`records[0].time.Year()`,
		`{"a": 1}`,
		`total() == 0`,
		`distinct()`,
	} {
		p, err := expr.Compile(src, options()...)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if compileFast(p) != nil {
			t.Errorf("%s: taken by the fast path, which does not know all of it", src)
		}
	}
}

// TestFastCheckoutModel: every program of the checkout invariants takes
// the fast path, so the default config gets its speed. (The config
// package imports this one: the test reads the YAML itself.)
func TestFastCheckoutModel(t *testing.T) {
	raw, err := os.ReadFile("../configs/checkout.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Process struct {
			Invariants []struct {
				Code string
				Vars map[string]string
				When string
				Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Process.Invariants) == 0 {
		t.Fatal("no invariants")
	}
	for _, inv := range doc.Process.Invariants {
		srcs := []string{inv.Expr}
		if inv.When != "" {
			srcs = append(srcs, inv.When)
		}
		for _, v := range inv.Vars {
			srcs = append(srcs, v)
		}
		for _, src := range srcs {
			p, err := expr.Compile(src, options()...)
			if err != nil {
				t.Fatalf("%s: %s: %v", inv.Code, src, err)
			}
			if compileFast(p) == nil {
				t.Errorf("%s: %s runs on the VM", inv.Code, src)
			}
		}
	}
}

// randomEnv builds an instance of the checkout shape with random
// records, some of them odd: missing keys, amounts, orders or steps,
// mixed currencies.
func randomEnv(rng *rand.Rand, n int) *InstanceEnv {
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	rec := func(id int, kind string) *RecordView {
		r := &RecordView{ID: record.ID(id), RecordEnv: RecordEnv{
			Kind: kind, Status: pick("succeeded", "failed", "pending"), Source: pick("shopdb", "provider"),
			Currency: pick("EUR", "EUR", "EUR", "USD", ""), Time: base.Add(time.Duration(rng.IntN(1000)) * time.Second),
			Keys: map[string]string{}, Attrs: map[string]string{},
		}}
		if rng.IntN(5) > 0 {
			r.Amount, r.HasAmount = int64(rng.IntN(4)*2500), true
		}
		if rng.IntN(4) > 0 {
			r.Keys["charge_id"] = pick("ch_1", "ch_2", "ch_3")
		}
		if kind == "refund" && rng.IntN(4) > 0 {
			r.Keys["refund_id"] = pick("re_1", "re_2")
		}
		if rng.IntN(3) == 0 {
			r.Attrs["reason"] = pick("timeout", "declined")
		}
		return r
	}
	env := &InstanceEnv{Root: fmt.Sprintf("o_%d", n%3), Outcome: pick("completed", "failed", "in_progress"),
		ByKind: map[string][]*RecordView{}, Steps: map[string]*StepView{}}
	for i := range rng.IntN(7) {
		r := rec(i, pick("order", "charge", "charge", "refund", "event:X"))
		env.Records = append(env.Records, r)
		env.ByKind[r.Kind] = append(env.ByKind[r.Kind], r)
	}
	for _, name := range []string{"capture_payment", "refund_payment"} {
		if rng.IntN(8) == 0 {
			continue // a step the instance has no view of
		}
		s := &StepView{State: pick("succeeded", "failed", "pending"), Attempts: rng.IntN(3)}
		for _, r := range env.Records {
			switch {
			case name == "capture_payment" && r.Kind == "charge", name == "refund_payment" && r.Kind == "refund":
				s.Evidence = append(s.Evidence, r)
				switch r.Status {
				case "succeeded":
					s.Succeeded = append(s.Succeeded, r)
				case "failed":
					s.Failed = append(s.Failed, r)
				default:
					s.Requested = append(s.Requested, r)
				}
			}
		}
		env.Steps[name] = s
	}
	// vars as the VM computes them for the checkout invariants
	var machine vm.VM
	env.Vars = map[string]any{}
	for name, src := range map[string]string{
		"charges":  `distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")`,
		"refunded": `ids(steps.refund_payment.succeeded, "charge_id")`,
		"refunds":  `distinct(steps.refund_payment.succeeded, "refund_id")`,
		"order":    `first(by_kind.order ?? [])`,
	} {
		p, err := expr.Compile(src, options()...)
		if err != nil {
			panic(err)
		}
		if v, err := machine.Run(p, env); err == nil {
			env.Vars[name] = v
		}
	}
	return env
}

// TestInvariantsFastMatchVM evaluates whole invariants — shared
// variables, when and expr — as the judge does (variables bound for the
// fast path, env.Vars filled only for the VM or a program reading vars
// whole) and on the VM alone, with env.Vars set as it always was: the
// outcomes and errors must be the same.
func TestInvariantsFastMatchVM(t *testing.T) {
	m := &Model{}
	for i, c := range []InvariantConfig{
		{Vars: map[string]string{
			"charges": `distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")`,
			"refunds": `distinct(filter(steps.refund_payment.succeeded, .kind == "refund"), "refund_id")`,
		}, When: `len(vars.charges) > 1`, Expr: `len(uncovered(vars.charges, vars.refunds, "charge_id")) <= 1`},
		{Vars: map[string]string{
			"charges": `distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")`,
			"order":   `first(by_kind.order ?? [])`,
		}, When: `len(vars.charges) == 1 && vars.order != nil && vars.order.has_amount && vars.charges[0].has_amount`,
			Expr: `vars.charges[0].amount == vars.order.amount && vars.charges[0].currency == vars.order.currency`},
		// vars read whole, by a computed name, or not defined
		{Vars: map[string]string{"a": `len(records)`, "b": `root`}, Expr: `len(vars) == 2 && vars[vars.b] == nil && vars.c == nil`},
		{Vars: map[string]string{"refunds": `distinct(steps.refund_payment.succeeded, "refund_id")`}, When: `"refunds" in vars`, Expr: `len(vars.refunds) < 2`},
		// a variable and a condition the fast path does not take, and
		// ones that fail on some instances
		{Vars: map[string]string{"up": `upper(root)`, "first": `records[0].kind`}, Expr: `vars.up startsWith "O" || vars.first != "x"`},
		{Vars: map[string]string{"env": `$env.root`}, When: `vars.env != ""`, Expr: `vars.missing == nil && records[1].amount >= 0`},
		{Vars: map[string]string{"n": `len(records)`}, Expr: `vars.n`},
		// the VM reading records the fast path has not loaded
		{Vars: map[string]string{"total": `sum(map(records, .amount))`}, When: `vars.total > 2500`, Expr: `len(filter(map(records, .currency), # == "USD")) == 0`},
		{Vars: map[string]string{"charges": `distinct(filter(steps.capture_payment.succeeded, .kind == "charge"), "charge_id")`}, Expr: `none(map(vars.charges, .currency), # == "USD")`},
		{Vars: map[string]string{"n": `len(records)`}, When: `vars.n > 0`, Expr: `none(map(records, .currency), # == "USD")`},
	} {
		c.Code = "AMOUNT_MISMATCH"
		inv, err := compileInvariant(c, m)
		if err != nil {
			t.Fatalf("invariant %d: %v", i, err)
		}
		m.Invariants = append(m.Invariants, inv)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var machine vm.VM
	ctx := &fastCtx{}
	var fastCache, lazyCache, vmCache varCache
	for n := range 400 {
		env := randomEnv(rng, n)
		env.Vars = nil
		fastCache.reset(len(m.vars))
		vmCache.reset(len(m.vars))
		for i, inv := range m.Invariants {
			ctx.lazy = nil
			got, gerr := inv.violated(m, env, &fastCache, &machine, ctx)
			// and with views loaded only when read, as the judge builds
			// them: a fresh env for each invariant, as one that falls
			// back to the VM loads them all
			lenv, loader := lazyEnv(env)
			lazyCache.reset(len(m.vars))
			ctx.lazy = loader
			lazy, lerr := inv.violated(m, lenv, &lazyCache, &machine, ctx)
			want, werr := inv.violated(m, env, &vmCache, &machine, nil)
			if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("instance %d, invariant %d: fast path %v (%v), VM %v (%v)", n, i, got, gerr, want, werr)
			}
			if lazy != want || fmt.Sprint(lerr) != fmt.Sprint(werr) {
				t.Errorf("instance %d, invariant %d: fast path on lazy views %v (%v), VM %v (%v)", n, i, lazy, lerr, want, werr)
			}
		}
	}
}
