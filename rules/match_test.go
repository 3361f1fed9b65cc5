package rules

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/vitals-dev/vitals/record"
)

// TestClassifyTable: Matches, through the classifier's
// table of (source, kind, status), give for every record the matches of
// evaluating every matcher on the whole record, in the order of the
// matchers (those reading only the signature first). The classifier is
// made before the store is sealed, so every symbol is interned after it,
// and records are classified in an order that grows the table from its
// largest symbols down as well as up.
func TestClassifyTable(t *testing.T) {
	m, err := Compile(Config{Name: "p", Root: "order_id", Steps: []StepConfig{
		{Name: "reserve", Requested: `kind == "reserve_req"`, Succeeded: `kind == "reservation" && status == "ok"`,
			Failed: `kind == "reservation" && status in ["failed", "rejected"]`, SLA: Duration(time.Minute)},
		{Name: "pay", Succeeded: `kind == "charge" && source == "psp" && status == "succeeded"`,
			Failed: `kind == "charge" && status != "succeeded"`, Unknown: `kind == "charge" && attrs.flag == "x"`, SLA: Duration(time.Minute)},
		{Name: "ship", Succeeded: `status == "shipped" || amount > 5`, SLA: Duration(time.Minute)},
	}}, []string{"order_id"})
	if err != nil {
		t.Fatal(err)
	}
	st := record.NewStore([]string{"order_id"}, nil)
	c := m.Classifier(st)
	kinds := []string{"reserve_req", "reservation", "charge", "parcel", "other"}
	statuses := []string{"", "ok", "failed", "rejected", "succeeded", "shipped", "declined"}
	n := 0
	for _, src := range []string{"shopdb", "psp", "events"} {
		w := st.Writer(src)
		if src == "psp" {
			// Past tableSyms symbols: "rejected" and "shipped", first
			// seen now, and the padding's statuses are classified through
			// the classifier's map rather than its table.
			for i := range tableSyms + 100 {
				r := &record.Record{Kind: "other", Status: fmt.Sprint("pad", i), Time: time.Unix(int64(n), 0), Prov: record.Provenance{Source: src, Loc: "f", Pos: int64(n)}}
				if err := w.Add(r); err != nil {
					t.Fatal(err)
				}
				n++
			}
		}
		for _, k := range kinds {
			for _, s := range statuses {
				if src == "shopdb" && (s == "rejected" || s == "shipped") {
					continue
				}
				for _, flag := range []string{"", "x"} {
					r := &record.Record{Kind: k, Status: s, Time: time.Unix(int64(n), 0), Amount: int64(n % 9), HasAmount: n%2 == 0,
						Keys: []record.KV{{Name: "order_id", Value: fmt.Sprint(n % 7)}}, Prov: record.Provenance{Source: src, Loc: "f", Pos: int64(n)}}
					if flag != "" {
						r.Attrs = []record.KV{{Name: "flag", Value: flag}}
					}
					if err := w.Add(r); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
		}
	}
	st.Seal()

	// want evaluates every matcher on the whole record.
	var v vm.VM
	var rec record.Record
	var env RecordEnv
	want := func(id record.ID) []Match {
		st.Get(id, &rec)
		fillEnv(&env, &rec, true, true)
		var out []Match
		for _, ms := range [][]targetMatcher{c.sig, c.dyn} {
			for _, tm := range ms {
				hit, err := v.Run(tm.m.prog, &env)
				if err != nil {
					t.Fatal(err)
				}
				if hit.(bool) {
					out = append(out, Match{Target: tm.target, Role: tm.role})
				}
			}
		}
		return out
	}
	ids := make([]record.ID, 0, 3*st.Len())
	for id := st.Len() - 1; id >= 0; id-- {
		ids = append(ids, record.ID(id))
	}
	for id := range st.Len() {
		ids = append(ids, record.ID(id), record.ID(st.Len()-1-id))
	}
	hits := 0
	for _, id := range ids {
		src, kind, status := st.Sig(id)
		w := want(id)
		got, err := c.Matches(id, src, kind, status)
		if err != nil || !slices.Equal(got, w) {
			t.Errorf("record %d (%s %s %s): matches %v %v, want %v", id, st.SymName(src), st.SymName(kind), st.SymName(status), got, err, w)
		}
		hits += len(got)
	}
	if hits == 0 {
		t.Fatal("no record matched: the test tests nothing")
	}
	if len(c.far) == 0 {
		t.Fatal("no signature went past the table: the test does not test the map")
	}
}
