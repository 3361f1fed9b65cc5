package reconcile

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/vitals-dev/vitals/record"
)

// comp is one connected component of records: an instance, or orphans.
type comp struct {
	off, n int32
	name   string   // smallest root value; for orphans, the first key as type:value
	roots  []string // distinct root values, sorted
}

func (c *comp) orphan() bool { return len(c.roots) == 0 }

// correlate links records that share a value of a linking key type
// (union-find, near-linear) and groups them into components ordered by name.
func (r *Result) correlate(ctx context.Context) error {
	st := r.Store
	n := st.Len()
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	first := make([]int32, st.NumKeys())
	for i := range first {
		first[i] = -1
	}
	links := r.In.Links
	for id := 0; id < n; id++ {
		if id&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		st.Keys(record.ID(id), func(typ int, k record.KeyID) {
			if !links[typ] {
				return
			}
			if first[k] < 0 {
				first[k] = int32(id)
				return
			}
			a, b := find(int32(id)), find(first[k])
			if a == b {
				return
			}
			if a < b {
				parent[b] = a
			} else {
				parent[a] = b
			}
		})
	}
	first = nil

	// Label components densely and bucket their records.
	label := make([]int32, n)
	for i := range label {
		label[i] = -1
	}
	var counts []int32
	for id := 0; id < n; id++ {
		root := find(int32(id))
		if label[root] < 0 {
			label[root] = int32(len(counts))
			counts = append(counts, 0)
		}
		c := label[root]
		label[id] = c
		counts[c]++
	}
	parent = nil
	comps := make([]comp, len(counts))
	off := int32(0)
	for i, c := range counts {
		comps[i].off = off
		off += c
	}
	members := make([]record.ID, n)
	fill := make([]int32, len(counts))
	for id := 0; id < n; id++ {
		c := label[id]
		members[comps[c].off+fill[c]] = record.ID(id)
		fill[c]++
	}
	for i := range comps {
		comps[i].n = counts[i]
	}
	counts, fill = nil, nil

	rootType := r.Model.RootType
	for i := range comps {
		c := &comps[i]
		ms := members[c.off : c.off+c.n]
		if len(ms) > 1 {
			slices.SortFunc(ms, func(a, b record.ID) int {
				if st.Less(a, b) {
					return -1
				}
				if a == b {
					return 0
				}
				return 1
			})
		}
		for _, id := range ms {
			if v, ok := st.KeyOf(id, rootType); ok && !slices.Contains(c.roots, v) {
				c.roots = append(c.roots, v)
			}
		}
		if len(c.roots) > 0 {
			slices.Sort(c.roots)
			c.name = c.roots[0]
		} else {
			c.name = orphanName(st, ms)
		}
	}
	// Instances first, by name; then orphans, by name.
	sort.Slice(comps, func(a, b int) bool {
		oa, ob := comps[a].orphan(), comps[b].orphan()
		if oa != ob {
			return !oa
		}
		if comps[a].name != comps[b].name {
			return comps[a].name < comps[b].name
		}
		return st.Less(members[comps[a].off], members[comps[b].off])
	})
	// Record -> component, after the sort.
	for i := range comps {
		for _, id := range members[comps[i].off : comps[i].off+comps[i].n] {
			label[id] = int32(i)
		}
	}
	r.members, r.comps, r.compOf = members, comps, label
	return nil
}

// orphanName names a component with no root key by its first record's
// first key, as type:value, or by provenance when it has no key.
func orphanName(st *record.Store, ms []record.ID) string {
	types := st.KeyTypes()
	best := ""
	for _, id := range ms {
		st.Keys(id, func(typ int, k record.KeyID) {
			_, v := st.Key(k)
			name := types[typ] + ":" + v
			if best == "" || name < best {
				best = name
			}
		})
	}
	if best != "" {
		return best
	}
	rec := st.Record(ms[0])
	return strings.ReplaceAll(rec.Prov.String(), " ", "_")
}
