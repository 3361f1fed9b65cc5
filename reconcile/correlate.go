package reconcile

import (
	"bytes"
	"cmp"
	"context"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/vitals-dev/vitals/internal/par"
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
	return orphanName(r.Store, r.In.Links, r.members[c.off:c.off+c.n])
}

// correlate links records that share a value of a linking key type and
// groups them into components ordered by name. The union-find runs over
// key values, not records: records are linked through the keys they carry,
// and a record with no linking key stands alone.
func (r *Result) correlate(ctx context.Context) error {
	st := r.Store
	n := st.Len()
	nk := st.NumKeys()
	workers := par.Workers() // once: per-worker state is sized by it
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
	union := func(x, y int32) { // the smaller root becomes the parent
		a, b := find(x), find(y)
		if a < b {
			parent[b] = a
		} else if b < a {
			parent[a] = b
		}
	}
	// One pass over the records decodes their keys: union the linking
	// keys of each record, and remember its first (or -1). Decoding is
	// most of the work and runs on every core, a block of records at a
	// time; the union of a block's pairs is one goroutine's, and runs
	// while the next block is decoded.
	first := make([]int32, n)
	decode := func(lo int, bufs []linkBuf) {
		hi := min(lo+correlateBlock, n)
		for w := range bufs {
			bufs[w].reset()
		}
		par.Split(workers, hi-lo, func(w, a, b int) {
			bufs[w].decode(st, r.In.Links, lo+a, lo+b, first)
		})
	}
	cur, next := make([]linkBuf, workers), make([]linkBuf, workers)
	if n > 0 {
		decode(0, cur)
	}
	for lo := 0; lo < n; lo += correlateBlock {
		if err := ctx.Err(); err != nil {
			return err
		}
		done := make(chan struct{})
		if nlo := lo + correlateBlock; nlo < n {
			go func() {
				defer close(done)
				decode(nlo, next)
			}()
		} else {
			close(done)
		}
		for w := range cur {
			for _, e := range cur[w].pairs {
				union(e[0], e[1])
			}
		}
		<-done
		cur, next = next, cur
	}
	// Records that share a linking key kept with the record: each group
	// of them gets a node of its own after the KeyIDs, which their
	// interned keys join; a record with no other linking key reaches its
	// component through it.
	var parts [][]uint64
	for _, bufs := range [][]linkBuf{cur, next} {
		for w := range bufs {
			parts = append(parts, bufs[w].joins...)
			bufs[w].joins = nil
		}
	}
	if len(parts) > 0 {
		groups := joinInline(st, r.In.Links, parts, workers)
		parent = slices.Grow(parent, len(groups))
		for _, g := range groups {
			node := int32(len(parent))
			parent = append(parent, node)
			for _, id := range g {
				if f := first[id]; f >= 0 {
					union(f, node)
				} else {
					first[id] = node
				}
			}
		}
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
	// first now becomes each record's component; a record with no linking
	// key is a component of its own.
	for id, f := range first {
		c := int32(0)
		if f >= 0 {
			c = compOfKey(f)
		} else {
			c = newComp()
		}
		first[id] = c
		counts[c]++
	}
	comps := make([]comp, len(counts))
	off := int32(0)
	for i, c := range counts {
		comps[i] = comp{off: off, root: -1}
		off += c
	}
	// Root values, straight from the root type's KeyIDs: each belongs to
	// the component of its key. The smallest value names the instance.
	var multiKeys map[int][]record.KeyID // components with several roots
	lo, hi := st.KeyRange(r.Model.RootType)
	for k := lo; k < hi; k++ {
		ci := int(compOfKey(int32(k)))
		c := &comps[ci]
		if c.root < 0 {
			c.root = k
			continue
		}
		if multiKeys == nil {
			multiKeys = map[int][]record.KeyID{}
		}
		if len(multiKeys[ci]) == 0 {
			multiKeys[ci] = []record.KeyID{c.root}
		}
		multiKeys[ci] = append(multiKeys[ci], k)
	}
	multi := map[int][]string{}
	for ci, ks := range multiKeys {
		var vs []string
		for _, k := range ks {
			_, v := st.Key(k)
			vs = append(vs, v)
			if _, best := st.Key(comps[ci].root); v < best {
				comps[ci].root = k
			}
		}
		slices.Sort(vs)
		multi[ci] = vs
	}
	parent, counts = nil, nil

	members := make([]record.ID, n)
	for id, c := range first {
		members[comps[c].off+comps[c].n] = record.ID(id)
		comps[c].n++
	}
	first = nil
	// Each component's records in time order, components shared out
	// among the cores.
	// Each record's time is read once, not at every comparison; only
	// records of the same instant compare the rest of their provenance.
	par.Split(workers, len(comps), func(_, lo, hi int) {
		var buf []timedID
		for i := lo; i < hi; i++ {
			c := &comps[i]
			ms := members[c.off : c.off+c.n]
			if len(ms) < 2 {
				continue
			}
			buf = buf[:0]
			for _, id := range ms {
				buf = append(buf, timedID{st.UnixNano(id), id})
			}
			slices.SortFunc(buf, func(a, b timedID) int {
				if a.t != b.t {
					return cmp.Compare(a.t, b.t)
				}
				return st.Compare(a.id, b.id)
			})
			for k, e := range buf {
				ms[k] = e.id
			}
		}
	})
	r.members, r.comps = members, comps

	// Instances first, by name; then orphans, by name.
	type named struct {
		name   string
		orphan bool
		idx    int32
	}
	order := make([]named, len(comps))
	par.Split(workers, len(comps), func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			order[i] = named{name: r.name(&comps[i]), orphan: comps[i].orphan(), idx: int32(i)}
		}
	})
	par.SortFunc(order, func(a, b named) int {
		if a.orphan != b.orphan {
			if a.orphan {
				return 1
			}
			return -1
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return st.Compare(members[comps[a.idx].off], members[comps[b.idx].off])
	})
	sorted := make([]comp, len(comps))
	r.multiRoot = map[int][]string{}
	for i, o := range order {
		sorted[i] = comps[o.idx]
		if rs, ok := multi[int(o.idx)]; ok {
			r.multiRoot[i] = rs
		}
	}
	r.comps = sorted
	return nil
}

// timedID is a record with its time, for sorting.
type timedID struct {
	t  int64
	id record.ID
}

// correlateBlock is how many records are decoded between two unions.
const correlateBlock = 1 << 18

// linkBuf holds what one worker decoded of a block of records: pairs of
// linking keys to union (each record's first key with each other one),
// and the linking keys kept with their record rather than interned (see
// joinInline), which accumulate over all blocks.
type linkBuf struct {
	pairs [][2]int32
	joins [][]uint64 // hash<<32 | record ID, in chunks: no slack to copy or keep
}

const joinChunk = 1 << 16

func (b *linkBuf) join(e uint64) {
	if n := len(b.joins); n == 0 || len(b.joins[n-1]) == joinChunk {
		b.joins = append(b.joins, make([]uint64, 0, joinChunk))
	}
	last := &b.joins[len(b.joins)-1]
	*last = append(*last, e)
}

func (b *linkBuf) reset() { b.pairs = b.pairs[:0] }

// decode sets first[id] for records [lo, hi) and collects their pairs.
func (b *linkBuf) decode(st *record.Store, links []bool, lo, hi int, first []int32) {
	b.reset()
	for id := lo; id < hi; id++ {
		f := int32(-1)
		st.EachKey(record.ID(id), func(typ int, k record.KeyID, inline []byte) {
			if !links[typ] {
				return
			}
			if inline != nil {
				b.join(uint64(joinHash(typ, inline))<<32 | uint64(id))
				return
			}
			if f < 0 {
				f = int32(k)
				return
			}
			b.pairs = append(b.pairs, [2]int32{f, int32(k)})
		})
		first[id] = f
	}
}

var joinSeed = maphash.MakeSeed()

// joinHash hashes a key kept with its record, with its type.
func joinHash(typ int, enc []byte) uint32 {
	h := maphash.Bytes(joinSeed, enc) ^ uint64(typ)*0x9e3779b97f4a7c15
	return uint32(h>>32) ^ uint32(h)
}

// joinInline finds the records that share a value of a linking key type
// kept with the record instead of interned (the delivery key: event ids,
// of which nearly every one is seen once, by one record — interning five
// million of them while reading cost more than finding the few shared
// ones now). The (hash, record) entries are spread into buckets by hash
// and each bucket sorted, on every core; records of equal hash are then
// compared by value. It returns the groups of two or more records with
// equal values, each as a run of record IDs.
func joinInline(st *record.Store, links []bool, parts [][]uint64, workers int) [][]record.ID {
	const bucketBits = 10
	const buckets = 1 << bucketBits
	// Spread the entries into buckets, parts shared out among the cores:
	// each core counts its parts' entries per bucket, then writes them
	// after the entries of the cores before it in each bucket.
	counts := make([][buckets]int, workers)
	par.Split(workers, len(parts), func(w, lo, hi int) {
		c := &counts[w]
		for _, p := range parts[lo:hi] {
			for _, e := range p {
				c[e>>(64-bucketBits)]++
			}
		}
	})
	var count [buckets + 1]int // where each bucket starts
	next := make([][buckets]int, len(counts))
	for b := range buckets {
		at := count[b]
		for w := range counts {
			next[w][b] = at
			at += counts[w][b]
		}
		count[b+1] = at
	}
	sorted := make([]uint64, count[buckets])
	par.Split(workers, len(parts), func(w, lo, hi int) {
		n := &next[w]
		for i, p := range parts[lo:hi] {
			for _, e := range p {
				b := e >> (64 - bucketBits)
				sorted[n[b]] = e
				n[b]++
			}
			parts[lo+i] = nil // the collector may have it back
		}
	})
	found := make([][][]record.ID, workers)
	par.Split(workers, buckets, func(w, lo, hi int) {
		var run []inlineKey
		var tmp []uint64
		for b := lo; b < hi; b++ {
			es := sorted[count[b]:count[b+1]]
			tmp = sortByHash(es, tmp)
			for i := 0; i < len(es); {
				j := i + 1
				for j < len(es) && es[j]>>32 == es[i]>>32 {
					j++
				}
				if j-i > 1 {
					run = run[:0]
				entries:
					for _, e := range es[i:j] {
						// A record with two linking keys of one hash has
						// two equal entries: take its keys of that hash
						// once.
						id := record.ID(uint32(e))
						for _, k := range run {
							if k.id == id {
								continue entries
							}
						}
						run = appendInline(run, st, links, id, uint32(e>>32))
					}
					found[w] = appendGroups(found[w], run)
				}
				i = j
			}
		}
	})
	var groups [][]record.ID
	for _, g := range found {
		groups = append(groups, g...)
	}
	return groups
}

// sortByHash orders one bucket's entries by hash (their top 32 bits, of
// which the bucket's 10 are equal), keeping the order of entries of equal
// hash: a radix sort in two passes of 11 bits, several times faster than
// comparison sorting these few thousand random keys. tmp is scratch, at
// least as long as es once returned.
func sortByHash(es, tmp []uint64) []uint64 {
	if cap(tmp) < len(es) {
		tmp = make([]uint64, len(es))
	}
	tmp = tmp[:len(es)]
	if len(es) < 2 {
		return tmp
	}
	src, dst := es, tmp
	for shift := 32; shift < 54; shift += 11 {
		var count [1<<11 + 1]int
		for _, e := range src {
			count[(e>>shift)&(1<<11-1)+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, e := range src {
			d := (e >> shift) & (1<<11 - 1)
			dst[count[d]] = e
			count[d]++
		}
		src, dst = dst, src
	}
	return tmp // two passes: the result is back in es
}

// inlineKey is a record's linking key kept with it.
type inlineKey struct {
	typ int
	enc []byte
	id  record.ID
}

// appendInline appends the record's inline linking keys of the given
// hash: usually one, but two keys of a record may share a hash.
func appendInline(run []inlineKey, st *record.Store, links []bool, id record.ID, h uint32) []inlineKey {
	st.EachKey(id, func(typ int, _ record.KeyID, inline []byte) {
		if inline != nil && links[typ] && joinHash(typ, inline) == h {
			run = append(run, inlineKey{typ: typ, enc: inline, id: id})
		}
	})
	return run
}

// appendGroups appends the groups of two or more keys of equal type and
// value in run (keys of one hash) as record IDs.
func appendGroups(groups [][]record.ID, run []inlineKey) [][]record.ID {
	slices.SortFunc(run, func(a, b inlineKey) int {
		if c := cmp.Compare(a.typ, b.typ); c != 0 {
			return c
		}
		return bytes.Compare(a.enc, b.enc)
	})
	for i := 0; i < len(run); {
		j := i + 1
		for j < len(run) && run[j].typ == run[i].typ && bytes.Equal(run[j].enc, run[i].enc) {
			j++
		}
		if j-i > 1 {
			g := make([]record.ID, 0, j-i)
			for _, k := range run[i:j] {
				g = append(g, k.id)
			}
			groups = append(groups, g)
		}
		i = j
	}
	return groups
}

// orphanName names a component with no root key by its records' smallest
// linking key as type:value, or by provenance when they carry none (then
// it is one record). A linking key value belongs to one component only; a
// search key (customer_id) may be on records of many, so it never names one.
func orphanName(st *record.Store, links []bool, ms []record.ID) string {
	best := ""
	for _, id := range ms {
		st.KeyValues(id, func(typ int, v string) {
			if !links[typ] {
				return
			}
			name := st.KeyTypes()[typ] + ":" + v
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
