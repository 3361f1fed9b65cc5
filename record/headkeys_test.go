package record

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestHeadKeys: HeadKeys reads in one pass what Sig, UnixNano and EachKey
// read (the first key of each wanted type), for every set of wanted key
// types, whatever the record holds; records are found in every segment,
// empty ones included.
func TestHeadKeys(t *testing.T) {
	st := NewStore([]string{"order_id", "event_id", "charge_id"}, []bool{true, false, true})
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	a, _, c := st.Writer("a"), st.Writer("empty"), st.Writer("c")
	for i := range 3000 {
		w := a
		if i%3 == 0 {
			w = c
		}
		r := Record{Kind: fmt.Sprint("k", i%4), Status: "s", Time: at.Add(time.Duration(i) * 1500 * time.Millisecond),
			Prov: Provenance{Loc: "f", Pos: int64(i)}}
		if i%2 == 0 {
			r.Amount, r.HasAmount = int64(i)<<20, true // a varint of several bytes
		}
		if i%5 == 0 {
			r.Prov.Key = fmt.Sprint(i)
			if i%25 == 0 {
				r.Prov.Key = strings.Repeat("k", 3000) // a large value
			}
		}
		if i%11 != 0 {
			r.Keys = append(r.Keys, KV{"event_id", fmt.Sprintf("evt_%08d-0000-4000-8000-000000000000", i)})
		}
		if i%7 != 0 {
			r.Keys = append(r.Keys, KV{"order_id", fmt.Sprint("ORD-", i/3)})
		}
		if i%4 == 0 {
			r.Keys = append(r.Keys, KV{"charge_id", fmt.Sprint("ch_", i)})
		}
		if i == 2999 {
			r.Time = time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC) // a new segment
		}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	var keys []KeyRef
	for id := range ID(st.Len()) {
		for want := uint64(0); want < 8; want++ {
			var h Head
			h, keys = st.HeadKeys(id, want, keys[:0])
			src, kind, status := st.Sig(id)
			if wh := (Head{src, kind, status, st.UnixNano(id)}); h != wh {
				t.Fatalf("record %d: head %+v, want %+v", id, h, wh)
			}
			first := map[int]KeyRef{}
			st.EachKey(id, func(typ int, k KeyID, inline []byte) {
				if _, ok := first[typ]; !ok {
					first[typ] = KeyRef{Type: typ, ID: k, Raw: inline}
				}
			})
			n := 0
			for typ := range 3 {
				w, wok := first[typ]
				if want&(1<<typ) == 0 || !wok {
					continue
				}
				wk, wraw := w.ID, w.Raw
				var got *KeyRef
				for i := range keys {
					if keys[i].Type == typ {
						got = &keys[i]
						break
					}
				}
				if got == nil || got.ID != wk || string(got.Raw) != string(wraw) || (got.Raw == nil) != (wraw == nil) {
					t.Fatalf("record %d want %b type %d: %+v, want %d %q", id, want, typ, got, wk, wraw)
				}
				n++
			}
			if len(keys) != n {
				t.Fatalf("record %d want %b: %d keys %+v, want %d", id, want, len(keys), keys, n)
			}
		}
	}
}
