package rules

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

func TestKindsOf(t *testing.T) {
	for src, want := range map[string]string{
		`kind == "charge"`:                                    "charge",
		`kind == "charge" && status == "succeeded"`:           "charge",
		`kind == "charge" || kind == "event:PaymentCaptured"`: "charge event:PaymentCaptured",
		`kind in ["reservation", "stock_release"]`:            "reservation stock_release",
		`"dead_letter" == kind && attrs.original_type == "X"`: "dead_letter",
		`kind == "a" && kind == "b"`:                          "",
		`status == "failed"`:                                  "*",
		`hasPrefix(kind, "event:")`:                           "*",
		`kind == "charge" || status == "x"`:                   "*",
	} {
		m, err := compileMatcher(src, "test")
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		got := strings.Join(m.kinds.kinds, " ")
		if m.kinds.any {
			got = "*"
		}
		if got != want {
			t.Errorf("kinds of %q = %q, want %q", src, got, want)
		}
	}
}

func TestSigOnly(t *testing.T) {
	for src, want := range map[string]bool{
		`kind == "charge" && status in ["paid"] && source == "provider"`: true,
		`kind == "charge" && amount > 0`:                                 false,
		`kind == "dead_letter" && attrs.original_type == "X"`:            false,
	} {
		m, err := compileMatcher(src, "test")
		if err != nil {
			t.Fatal(err)
		}
		if m.sigOnly != want {
			t.Errorf("%q: cacheable %v, want %v", src, m.sigOnly, want)
		}
	}
}

func TestEnvNeeds(t *testing.T) {
	n := newEnvNeeds()
	n.add(`len(distinct(steps.capture_payment.succeeded, "charge_id")) <= 1`)
	n.add(`first(by_kind.order ?? []) != nil`)
	if n.allRecords || n.allSteps || !n.steps["capture_payment"] || !n.kinds["order"] || len(n.steps) != 1 || !n.keys || n.attrs {
		t.Errorf("needs %+v", n)
	}
	n.add(`first(by_kind.order).attrs.reason != ""`)
	if !n.attrs {
		t.Error("attrs are read")
	}
	for _, src := range []string{`get(records[0], "attrs").reason == "x"`, `get(vars.order, root) != nil`} {
		g := newEnvNeeds()
		g.add(src)
		if !g.attrs {
			t.Errorf("%s: attrs are read", src)
		}
	}
	n.add(`steps[root].state == "x"`)
	if !n.allSteps {
		t.Error("a computed step name must build every step")
	}
	n.add(`len(records) > 0`)
	if !n.allRecords {
		t.Error("records must build every record")
	}
}

// TestEnvNeedsStepFields: only the lists of a step that expressions read
// by name are filled; a step read any other way has all of them.
func TestEnvNeedsStepFields(t *testing.T) {
	const req, succ, failed, unknown = 1 << saga.RoleRequested, 1 << saga.RoleSucceeded, 1 << saga.RoleFailed, 1 << saga.RoleUnknown
	for _, tt := range []struct {
		src  []string
		step string
		want uint8
	}{
		{[]string{`steps.x.state == "y"`}, "x", 0},
		{[]string{`distinct(steps.x.succeeded, "charge_id")`, `len(steps.x.failed) > 0`}, "x", succ | failed},
		{[]string{`len(steps.x.requested) > 0 && steps.y.unknown == nil`}, "x", req},
		{[]string{`len(steps.x.requested) > 0 && steps.y.unknown == nil`}, "y", unknown},
		{[]string{`len(steps.x.evidence) > 0`}, "x", fieldEvidence},
		{[]string{`steps.x?.succeeded != nil`}, "x", succ},
		{[]string{`steps["x"]["failed"] != nil`}, "x", failed},
		{[]string{`toJSON(steps.x) != ""`}, "x", allFields},
		{[]string{`get(steps.x, "failed") != nil`}, "x", allFields},
		{[]string{`steps.x[root] != nil`}, "x", allFields},
		{[]string{`(steps.x ?? steps.y).failed != nil`}, "x", allFields},
		{[]string{`len(steps.x.failed) > 0`, `let s = steps.x; s.state == "y"`}, "x", allFields},
		{[]string{`steps[root].state == "x"`}, "x", allFields},
		{[]string{`len($env.steps) > 0`}, "x", allFields},
	} {
		n := newEnvNeeds()
		for _, src := range tt.src {
			n.add(src)
		}
		if got := n.roles(tt.step); got != tt.want {
			t.Errorf("%q: step %s fields %05b, want %05b", tt.src, tt.step, got, tt.want)
		}
	}
}

// TestEnvNeedsKeys: records' keys are decoded only for the key types
// expressions name; a key read any other way decodes them all.
func TestEnvNeedsKeys(t *testing.T) {
	types := []string{"order_id", "charge_id", "refund_id", "event_id"}
	for _, tt := range []struct {
		src  []string
		want uint64
	}{
		{[]string{`steps.x.state == "y"`}, 0},
		{[]string{`distinct(steps.x.succeeded, "charge_id")`, `ids(steps.y.succeeded, "refund_id")`}, 0b0110},
		{[]string{`first(by_kind.order).keys.order_id != ""`, `count(records, .keys.event_id == "e") < 2`}, 0b1001},
		{[]string{`len(first(records).keys) > 1`}, ^uint64(0)},
		{[]string{`first(records).keys[root] != ""`}, ^uint64(0)},
		{[]string{`first(records)["keys"].charge_id == ""`}, 0b0010},
		{[]string{`vars.charges[0].amount == vars.order.amount`, `records[-1].keys.order_id != ""`}, 0b0001},
		{[]string{`records[len(records)-1].keys.order_id != ""`}, ^uint64(0)},
		{[]string{`get(get(records[0], "keys"), "charge_id") != ""`}, ^uint64(0)},
		{[]string{`get(first(records), root) != nil`}, ^uint64(0)},
		{[]string{`distinct(records, root)`}, ^uint64(0)},
		{[]string{`toJSON(first(records)) != ""`}, ^uint64(0)},
		{[]string{`sprintf("%v", first(records)) != ""`}, ^uint64(0)},
		{[]string{`len($env.records) > 0`}, ^uint64(0)},
	} {
		n := newEnvNeeds()
		for _, src := range tt.src {
			n.add(src)
		}
		if got := n.keyTypes(types); got != tt.want {
			t.Errorf("%q: key types %b, want %b", tt.src, got, tt.want)
		}
	}
}

func TestHelpers(t *testing.T) {
	recs := []*RecordView{
		{RecordEnv: RecordEnv{Keys: map[string]string{"charge_id": "ch_1"}, Amount: 1000, HasAmount: true, Currency: "EUR"}},
		{RecordEnv: RecordEnv{Keys: map[string]string{"charge_id": "ch_1"}, Amount: 1000, HasAmount: true, Currency: "EUR"}},
		{RecordEnv: RecordEnv{Keys: map[string]string{"charge_id": "ch_2"}, Amount: 250, HasAmount: true, Currency: "EUR"}},
		{RecordEnv: RecordEnv{Keys: map[string]string{}}},
	}
	d, err := fnDistinct(recs, "charge_id")
	if err != nil || len(d.([]*RecordView)) != 2 {
		t.Fatalf("distinct: %v %v", d, err)
	}
	if tot, _ := fnTotal(d); tot != 1250 {
		t.Errorf("total %v", tot)
	}
	if ids, _ := fnIDs(recs, "charge_id"); strings.Join(ids.([]string), ",") != "ch_1,ch_2" {
		t.Errorf("ids %v", ids)
	}
	mixed := append(recs, &RecordView{RecordEnv: RecordEnv{Amount: 1, HasAmount: true, Currency: "USD"}})
	if _, err := fnTotal(mixed); err == nil {
		t.Error("adding EUR and USD must fail")
	}
	if m, _ := fnMoney(4599, "EUR"); m != "45.99 EUR" {
		t.Errorf("money %v", m)
	}
	if m, _ := fnMoney(int64(4500), "JPY"); m != "4500 JPY" {
		t.Errorf("money %v", m)
	}
	// Long lists switch from searching to a set: same answer, first of
	// each value kept, in order.
	var long []*RecordView
	for i := range 100 {
		long = append(long, &RecordView{RecordEnv: RecordEnv{Keys: map[string]string{"charge_id": fmt.Sprint("ch_", i%30)}}, ID: record.ID(i)})
	}
	d, _ = fnDistinct(long, "charge_id")
	if got := d.([]*RecordView); len(got) != 30 || got[0].ID != 0 || got[29].ID != 29 {
		t.Errorf("distinct of 100 records with 30 charges: %d records", len(got))
	}
}

func TestMessageTemplate(t *testing.T) {
	if got := messageExprs(`a {{ x }} b {{y}}{{z}} c`); strings.Join(got, "|") != "x|y|z" {
		t.Errorf("messageExprs %v", got)
	}
	if _, err := compileMessage("unclosed {{ len(records)"); err == nil {
		t.Error("an unclosed {{ was accepted")
	}
}

func TestOverride(t *testing.T) {
	code, sev, err := override(&Override{Code: "CAPTURED_WITHOUT_ORDER"}, saga.CompensationMissing)
	if err != nil || code != saga.CapturedWithoutOrder || sev != saga.Critical {
		t.Errorf("%v %v %v", code, sev, err)
	}
	if _, _, err := override(&Override{Code: "NOPE"}, saga.StepSkipped); err == nil {
		t.Error("unknown code accepted")
	}
	if _, sev, _ := override(&Override{Severity: "low"}, saga.StepSkipped); sev != saga.Low {
		t.Errorf("severity %v", sev)
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[string]string{"15m": "15m0s", "3d": "72h0m0s", "1d12h": "36h0m0s", "": "0s"} {
		d, err := ParseDuration(in)
		if err != nil || d.D().String() != want {
			t.Errorf("%q = %v %v, want %s", in, d.D(), err, want)
		}
	}
	if _, err := ParseDuration("ten minutes"); err == nil {
		t.Error("bad duration accepted")
	}
}

// TestVarsAreIndependent: variables are evaluated independently (and once
// per instance for every invariant defining the same expression), so one
// may not read another: its value would depend on which invariant ran it
// first.
func TestVarsAreIndependent(t *testing.T) {
	c := Config{Name: "p", Root: "order_id", Steps: []StepConfig{{Name: "pay", Succeeded: `kind == "charge"`, SLA: Duration(time.Minute)}},
		Invariants: []InvariantConfig{{Code: "AMOUNT_MISMATCH", Step: "pay", Vars: map[string]string{"a": "1", "b": "vars.a + 1"}, Expr: "vars.b == 2"}}}
	_, err := Compile(c, []string{"order_id"})
	if err == nil || !strings.Contains(err.Error(), "process.invariants[0].vars.b") {
		t.Errorf("a variable reading another compiled: %v", err)
	}
}

// TestMatcherErrorSaysWhere: a matcher that fails on a record names the
// matcher's place in the config and the record's.
func TestMatcherErrorSaysWhere(t *testing.T) {
	m, err := Compile(Config{Name: "p", Root: "order_id", Steps: []StepConfig{
		{Name: "reserve", Succeeded: `kind == "reservation" && int(attrs.quantity) > 0`, SLA: Duration(time.Minute)}}}, []string{"order_id"})
	if err != nil {
		t.Fatal(err)
	}
	st := record.NewStore([]string{"order_id"}, nil)
	w := st.Writer("shopdb")
	if err := w.Add(&record.Record{Kind: "reservation", Time: time.Unix(1, 0), Attrs: []record.KV{{Name: "quantity", Value: "x"}},
		Prov: record.Provenance{Source: "shopdb", Loc: "stock_reservations.csv", Pos: 2}}); err != nil {
		t.Fatal(err)
	}
	st.Seal()
	src, kind, status := st.Sig(0)
	_, err = m.Classifier(st).Matches(0, src, kind, status)
	if err == nil || !strings.Contains(err.Error(), "process.steps[0].succeeded") || !strings.Contains(err.Error(), "shopdb:stock_reservations.csv:2") {
		t.Errorf("error %v: want the matcher's config path and the record's location", err)
	}
}
