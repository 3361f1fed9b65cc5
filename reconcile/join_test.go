package reconcile

import (
	"slices"
	"testing"
	"time"

	"github.com/vitals-dev/vitals/record"
)

// Records whose inline keys hash alike but differ in value or type are
// not joined: joinInline compares values, not only hashes.
func TestJoinInlineComparesValues(t *testing.T) {
	st := record.NewStore([]string{"event_id", "other_id"}, []bool{false, false})
	w := st.Writer("s")
	keys := []record.KV{
		{Name: "event_id", Value: "evt_a"},
		{Name: "event_id", Value: "evt_b"},
		{Name: "event_id", Value: "evt_a"},
		{Name: "other_id", Value: "evt_a"}, // same value, other type
		{Name: "event_id", Value: "evt_b"},
		{Name: "event_id", Value: "evt_c"},
	}
	for i, k := range keys {
		r := record.Record{Kind: "event", Time: time.Unix(int64(i), 0), Keys: []record.KV{k}, Prov: record.Provenance{Loc: "f", Pos: int64(i)}}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	var entries []uint64
	for id := range keys {
		st.EachKey(record.ID(id), func(typ int, _ record.KeyID, inline []byte) {
			h := joinHash(typ, inline)
			entries = append(entries, uint64(h)<<32|uint64(id))
		})
	}
	var got [][]record.ID
	for _, g := range joinInline(st, [][]uint64{entries}) {
		slices.Sort(g)
		got = append(got, g)
	}
	slices.SortFunc(got, func(a, b []record.ID) int { return int(a[0] - b[0]) })
	if want := [][]record.ID{{0, 2}, {1, 4}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("groups %v, want %v", got, want)
	}

	// A collision: keys of one hash but of other values or types are
	// told apart by value.
	var run []inlineKey
	for id := range keys {
		st.EachKey(record.ID(id), func(typ int, _ record.KeyID, inline []byte) {
			run = append(run, inlineKey{typ: typ, enc: inline, id: record.ID(id)})
		})
	}
	if got := appendGroups(nil, run); !slices.EqualFunc(got, [][]record.ID{{0, 2}, {1, 4}}, slices.Equal) {
		t.Errorf("groups of one hash: %v", got)
	}
}
