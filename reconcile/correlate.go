package reconcile

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/vitals-dev/vitals/record"
)

// comp is one connected component of records: an instance, or orphans.
// 12 bytes: a million instances cost 12 MB.
type comp struct {
	off, n int32
	root   record.KeyID // the smallest root value; -1 for orphans
}

func (c *comp) orphan() bool { return c.root < 0 }

// name returns the component's name: its root value, or for orphans its
// first key as type:value.
func (r *Result) name(c *comp) string {
	if c.root >= 0 {
		_, v := r.Store.Key(c.root)
		return v
	}
	return orphanName(r.Store, r.members[c.off:c.off+c.n])
}

// roots returns the distinct root values of a component, sorted.
func (r *Result) roots(i int) []string {
	if rs, ok := r.multiRoot[i]; ok {
		return rs
	}
	if c := &r.comps[i]; c.root >= 0 {
		return []string{r.name(c)}
	}
	return nil
}

// correlate links records that share a value of a linking key type and
// groups them into components ordered by name. The union-find runs over
// key values, not records: records are linked through the keys they carry,
// and a record with no linking key stands alone.
func (r *Result) correlate(ctx context.Context) error {
	st := r.Store
	n := st.Len()
	nk := st.NumKeys()
	parent := make([]int32, nk)
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
	links := r.In.Links
	// firstLink returns the record's first linking key, or -1.
	firstLink := func(id record.ID) int32 {
		first := int32(-1)
		st.Keys(id, func(typ int, k record.KeyID) {
			if first < 0 && links[typ] {
				first = int32(k)
			}
		})
		return first
	}
	for id := 0; id < n; id++ {
		if id&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		first := int32(-1)
		st.Keys(record.ID(id), func(typ int, k record.KeyID) {
			if !links[typ] {
				return
			}
			if first < 0 {
				first = int32(k)
				return
			}
			a, b := find(first), find(int32(k))
			if a < b {
				parent[b] = a
			} else if b < a {
				parent[a] = b
			}
		})
	}

	// Number the components as records reach them: a root key's parent
	// becomes -(component+1); every other key points straight at its root.
	for k := range parent {
		find(int32(k))
	}
	var counts []int32
	newComp := func() int32 {
		counts = append(counts, 0)
		return int32(len(counts) - 1)
	}
	compOfKey := func(k int32) int32 {
		root := k
		if p := parent[k]; p >= 0 && p != k {
			root = p
		}
		if p := parent[root]; p < 0 {
			return -p - 1
		}
		c := newComp()
		parent[root] = -(c + 1)
		return c
	}
	// Two passes over the records: count, then place. The second pass
	// finds the same components (keys are numbered by now); a record with
	// no linking key is a component of its own, remembered in order.
	var keyless []int32
	for id := 0; id < n; id++ {
		var c int32
		if k := firstLink(record.ID(id)); k >= 0 {
			c = compOfKey(k)
		} else {
			c = newComp()
			keyless = append(keyless, c)
		}
		counts[c]++
	}
	comps := make([]comp, len(counts))
	off := int32(0)
	for i, c := range counts {
		comps[i] = comp{off: off, root: -1}
		off += c
	}
	members := make([]record.ID, n)
	for id := 0; id < n; id++ {
		var c int32
		if k := firstLink(record.ID(id)); k >= 0 {
			c = compOfKey(k)
		} else {
			c, keyless = keyless[0], keyless[1:]
		}
		members[comps[c].off+comps[c].n] = record.ID(id)
		comps[c].n++
	}
	parent, counts, keyless = nil, nil, nil

	rootType := r.Model.RootType
	multi := map[int][]string{}
	for i := range comps {
		c := &comps[i]
		ms := members[c.off : c.off+c.n]
		if len(ms) > 1 {
			slices.SortFunc(ms, func(a, b record.ID) int {
				switch {
				case a == b:
					return 0
				case st.Less(a, b):
					return -1
				}
				return 1
			})
		}
		var rootKeys []record.KeyID
		for _, id := range ms {
			if k, ok := st.KeyID(id, rootType); ok && !slices.Contains(rootKeys, k) {
				rootKeys = append(rootKeys, k)
			}
		}
		if len(rootKeys) == 0 {
			continue
		}
		var values []string
		for _, k := range rootKeys {
			_, v := st.Key(k)
			values = append(values, v)
		}
		// The smallest value names the instance.
		best := 0
		for j := range values {
			if values[j] < values[best] {
				best = j
			}
		}
		c.root = rootKeys[best]
		if len(values) > 1 {
			slices.Sort(values)
			multi[i] = values
		}
	}
	r.members, r.comps = members, comps

	// Instances first, by name; then orphans, by name.
	names := make([]string, len(comps))
	for i := range comps {
		names[i] = r.name(&comps[i])
	}
	order := make([]int32, len(comps))
	for i := range order {
		order[i] = int32(i)
	}
	sort.Slice(order, func(a, b int) bool {
		ca, cb := &comps[order[a]], &comps[order[b]]
		if oa, ob := ca.orphan(), cb.orphan(); oa != ob {
			return !oa
		}
		if na, nb := names[order[a]], names[order[b]]; na != nb {
			return na < nb
		}
		return st.Less(members[ca.off], members[cb.off])
	})
	sorted := make([]comp, len(comps))
	r.multiRoot = map[int][]string{}
	for i, o := range order {
		sorted[i] = comps[o]
		if rs, ok := multi[int(o)]; ok {
			r.multiRoot[i] = rs
		}
	}
	r.comps = sorted
	return nil
}

// orphanName names a component with no root key by its records' smallest
// key as type:value, or by provenance when they carry no key.
func orphanName(st *record.Store, ms []record.ID) string {
	types := st.KeyTypes()
	best := ""
	for _, id := range ms {
		st.KeyValues(id, func(typ int, v string) {
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
