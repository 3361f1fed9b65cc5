package reconcile

import (
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/shard"
)

// Shard returns the part of the run this result audits (the zero Spec:
// all of it).
func (r *Result) Shard() shard.Spec { return r.opts.Shard }

// ownedIndex lists the components a sharded run evaluates, in order; nil
// when the run is not sharded. A component is owned by the shard its name
// hashes to: the smallest root value of an instance, the orphan group's
// name otherwise.
func (r *Result) ownedIndex() []int32 {
	sp := r.opts.Shard
	if !sp.On() {
		return nil
	}
	if r.owned == nil {
		r.owned = make([]int32, 0, len(r.comps)/sp.Count+1)
		for i := range r.comps {
			if sp.Owns(r.name(&r.comps[i])) {
				r.owned = append(r.owned, int32(i))
			}
		}
	}
	return r.owned
}

// Owned returns how many components this run evaluates: all of them, or
// the shard's.
func (r *Result) Owned() int {
	if o := r.ownedIndex(); o != nil {
		return len(o)
	}
	return len(r.comps)
}

// EachLinkedUnrooted calls fn with every record that carries no root key
// but sits in an instance (it linked to a root), and the instance's name,
// whichever shard owns the instance. With shard pushdown, a shard may not see the record that links
// such a record to its root, and take its group for an orphan; a merge
// drops an orphan group whose records another shard linked.
func (r *Result) EachLinkedUnrooted(fn func(id record.ID, instance string)) {
	st, rt := r.Store, r.Model.RootType
	for i := range r.comps {
		c := &r.comps[i]
		if c.orphan() {
			continue
		}
		name := ""
		for _, id := range r.members[c.off : c.off+c.n] {
			if _, ok := st.KeyOf(id, rt); !ok {
				if name == "" {
					name = r.name(c)
				}
				fn(id, name)
			}
		}
	}
}

// EachMultiRoot calls fn with the root values of every component that
// links several roots (AMBIGUOUS_LINK), whichever shard owns it.
func (r *Result) EachMultiRoot(fn func(roots []string)) {
	for _, roots := range r.multiRoot {
		fn(roots)
	}
}
