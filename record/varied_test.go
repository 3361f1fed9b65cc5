package record

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// variedTypes are the key types of variedStore: order_id and charge_id
// interned, event_id kept with its record.
var variedTypes = []string{"order_id", "event_id", "charge_id"}

// variedStore returns a sealed store of n records that vary in what a
// record can hold — nanoseconds, amounts (negative, of several varint
// bytes), currencies, provenance styles, primary keys (large ones too),
// interned and inline keys (UUID and plain), attributes (large ones too)
// — spread over the given writers' sources in turn, the last record in a
// segment of its own. A source of no records ("") leaves its writer empty.
func variedStore(t testing.TB, n int, sources ...string) *Store {
	st := NewStore(variedTypes, []bool{true, false, true})
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var ws []*Writer
	for _, src := range sources {
		if w := st.Writer(src); src != "" {
			ws = append(ws, w)
		}
	}
	for i := range n {
		r := Record{Kind: fmt.Sprint("k", i%4), Status: fmt.Sprint("s", i%3), Currency: []string{"", "EUR"}[i%2],
			Time: at.Add(time.Duration(i) * 1500 * time.Millisecond), Prov: Provenance{Loc: fmt.Sprint("f", i%5), Pos: int64(i), Style: Style(i % 3)}}
		if i%4 == 0 {
			r.Time = r.Time.Add(time.Duration(i) * time.Nanosecond)
		}
		if i%2 == 0 {
			r.Amount, r.HasAmount = (int64(i)-500)<<20, true
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
			ev := fmt.Sprintf("evt_%08d-0000-4000-8000-000000000000", i) // stored as a UUID
			if i%2 == 1 {
				ev = fmt.Sprint("evt_", i)
			}
			r.Keys = append(r.Keys, KV{"event_id", ev})
		}
		if i%4 == 0 {
			r.Keys = append(r.Keys, KV{"charge_id", fmt.Sprint("ch_", i)})
		}
		if i%3 != 0 {
			r.Attrs = append(r.Attrs, KV{"a", fmt.Sprint(i)}, KV{"big", strings.Repeat("v", i%2*2000)})
		}
		if i == n-1 {
			r.Time = time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC) // a new segment
		}
		if err := ws[i%len(ws)].Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	return st
}
