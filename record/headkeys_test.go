package record

import "testing"

// TestHeadKeys: HeadKeys reads in one pass what Sig, UnixNano and EachKey
// read (the first key of each wanted type), for every set of wanted key
// types, whatever the record holds; records are found in every segment,
// empty ones included.
func TestHeadKeys(t *testing.T) {
	st := variedStore(t, 3000, "a", "", "c")
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
