package reconcile

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
	// The same groups on one core, and on three with the entries cut into
	// parts that the cores spread into buckets side by side.
	for _, workers := range []int{1, 3} {
		parts := [][]uint64{slices.Clone(entries)}
		if workers > 1 {
			parts = nil
			for _, e := range entries {
				parts = append(parts, []uint64{e})
			}
		}
		var got [][]record.ID
		for _, g := range joinInline(st, []bool{true, true}, parts, workers) {
			slices.Sort(g)
			got = append(got, g)
		}
		slices.SortFunc(got, func(a, b []record.ID) int { return int(a[0] - b[0]) })
		if want := [][]record.ID{{0, 2}, {1, 4}}; !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%d workers: groups %v, want %v", workers, got, want)
		}
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

// Two linking keys of one record whose hashes collide are both joined: a
// record {b:x, c:y} with joinHash(b, x) == joinHash(c, y) links to the
// record that shares x and to the one that shares y. The values are found
// by search, as the hash's seed differs from run to run.
func TestJoinInlineCollidingKeysOfOneRecord(t *testing.T) {
	enc := func(v string) []byte { // the store's encoding of a short plain value
		return append(binary.AppendUvarint(nil, uint64(len(v))<<2), v...)
	}
	const n = 300_000
	byHash := make(map[uint32]string, n)
	for i := range n {
		v := fmt.Sprintf("x%07d", i)
		byHash[joinHash(1, enc(v))] = v
	}
	x, y := "", ""
	for i := 0; i < n && x == ""; i++ {
		v := fmt.Sprintf("y%07d", i)
		if w, ok := byHash[joinHash(2, enc(v))]; ok {
			x, y = w, v
		}
	}
	if x == "" {
		t.Skip("no colliding pair among the values tried") // about one run in 10^9
	}
	st := record.NewStore([]string{"root", "b", "c"}, []bool{true, false, false})
	w := st.Writer("s")
	for i, keys := range [][]record.KV{
		{{Name: "b", Value: x}, {Name: "c", Value: y}},      // A
		{{Name: "root", Value: "R"}, {Name: "b", Value: x}}, // B
		{{Name: "c", Value: y}},                             // C
	} {
		r := record.Record{Kind: "k", Time: time.Unix(int64(i), 0), Keys: keys, Prov: record.Provenance{Loc: "f", Pos: int64(i)}}
		if err := w.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	st.Seal()
	var entries []uint64
	for id := range 3 {
		st.EachKey(record.ID(id), func(typ int, _ record.KeyID, inline []byte) {
			if inline != nil {
				if id == 0 && !bytes.Equal(inline, enc(map[int]string{1: x, 2: y}[typ])) {
					t.Fatalf("the test's encoding of %q differs from the store's", inline)
				}
				entries = append(entries, uint64(joinHash(typ, inline))<<32|uint64(id))
			}
		})
	}
	var got [][]record.ID
	for _, g := range joinInline(st, []bool{true, true, true}, [][]uint64{entries}, 2) {
		slices.Sort(g)
		got = append(got, g)
	}
	slices.SortFunc(got, func(a, b []record.ID) int { return int(a[1] - b[1]) })
	if want := [][]record.ID{{0, 1}, {0, 2}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("groups %v, want %v (A with B through b, A with C through c)", got, want)
	}
}

// sortByHash must order a bucket's entries as a stable sort by hash does.
func TestSortByHash(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tmp []uint64
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		es := make([]uint64, n)
		for i := range es {
			// one bucket (top 10 bits equal), few hashes so that many are
			// equal, record IDs in any order
			h := uint64(7)<<22 | rng.Uint64N(uint64(n/4+1))*977%(1<<22)
			es[i] = h<<32 | uint64(rng.Uint32())
		}
		want := slices.Clone(es)
		slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(a>>32, b>>32) })
		tmp = sortByHash(es, tmp)
		if !slices.Equal(es, want) {
			t.Fatalf("%d entries: not in stable hash order", n)
		}
	}
}
