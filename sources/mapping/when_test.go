package mapping

import (
	"testing"

	"github.com/expr-lang/expr"

	"github.com/vitals-dev/vitals/record"
)

// The Go version of a `when` condition must answer exactly as the VM does,
// on records with and without the keys and attributes it names.
func TestWhenFastMatchesVM(t *testing.T) {
	fast := []string{
		`status == "failed"`,
		`status != "failed"`,
		`"failed" == status`,
		`attrs.released_at != ""`,
		`attrs.released_at == ""`,
		`attrs["released_at"] != ""`,
		`keys.order_id == "ORD-1"`,
		`kind == "order" && status in ["failed", "cancelled"]`,
		`status not in ["failed", "cancelled"] || currency == "EUR"`,
		`not (status == "failed") and !(kind == "refund")`,
		`true`,
	}
	slow := []string{
		`amount > 100`,
		`attrs?.released_at != ""`,
		`len(status) > 3`,
		`status startsWith "fail"`,
		`status == kind`,
	}
	recs := []record.Record{
		{},
		{Kind: "order", Status: "failed", Currency: "EUR"},
		{Kind: "order", Status: "cancelled", Amount: 500, Currency: "USD",
			Keys: []record.KV{{Name: "order_id", Value: "ORD-1"}}},
		{Kind: "refund", Status: "succeeded",
			Attrs: []record.KV{{Name: "released_at", Value: "2026-11-20T10:00:00Z"}}},
		{Kind: "reservation", Status: "failed",
			Keys:  []record.KV{{Name: "order_id", Value: "ORD-2"}},
			Attrs: []record.KV{{Name: "released_at", Value: "x"}, {Name: "released_at", Value: ""}}},
	}
	check := func(src string, wantFast bool) {
		t.Helper()
		p, err := expr.Compile(src, expr.Env(whenEnv{}), expr.AsBool())
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		f := compileWhen(p.Node())
		if (f != nil) != wantFast {
			t.Fatalf("%s: compiled to Go = %v, want %v", src, f != nil, wantFast)
		}
		if f == nil {
			return
		}
		vmOnly := &Mapper{when: p}
		for i := range recs {
			want, err := vmOnly.evalWhen(&recs[i])
			if err != nil {
				t.Fatalf("%s on record %d: %v", src, i, err)
			}
			if got := f(&recs[i]); got != want {
				t.Errorf("%s on record %d: Go says %v, the VM %v", src, i, got, want)
			}
		}
	}
	for _, src := range fast {
		check(src, true)
	}
	for _, src := range slow {
		check(src, false)
	}
}
