package record

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"
)

// TestGetValues: GetValues gives what Get gives, less the provenance's
// location, position, primary key and style, the keys of types not asked
// for and, unless asked for, the attributes — for records with and
// without nanoseconds, amounts, primary keys (large ones too), keys of
// interned and inline types and attributes, across segments.
func TestGetValues(t *testing.T) {
	st := variedStore(t, 2000, "a", "b")
	var got, all Record // reused, as the judge does
	for id := range ID(st.Len()) {
		st.Get(id, &all)
		for _, mask := range []uint64{0, 1, 2, 5, AllKeys} {
			for _, attrs := range []bool{false, true} {
				st.GetValues(id, &got, mask, attrs)
				want := all
				want.Prov = Provenance{Source: all.Prov.Source}
				want.Keys = nil
				for _, k := range all.Keys {
					if mask&(1<<st.KeyTypeIndex(k.Name)) != 0 {
						want.Keys = append(want.Keys, k)
					}
				}
				if !attrs {
					want.Attrs = nil
				}
				if !reflect.DeepEqual(got.Prov, want.Prov) || !got.Time.Equal(want.Time) ||
					got.Kind != want.Kind || got.Status != want.Status || got.Currency != want.Currency ||
					got.Amount != want.Amount || got.HasAmount != want.HasAmount ||
					!slices.Equal(got.Keys, want.Keys) || !slices.Equal(got.Attrs, want.Attrs) {
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
