package report

import (
	"slices"
	"strings"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// ShardInfo is what the report of one shard adds for `vitals report
// merge`: which shard it is, what each source read of the records every
// shard reads (those without a root key), and — when a source pushed the
// shard filter down — what a merge needs to settle orphans and to spot
// links it cannot see.
type ShardInfo struct {
	Index   int           `json:"index"`
	Count   int           `json:"count"`
	Sources []ShardSource `json:"sources"`
	// With pushdown only. Orphans are the orphan groups this shard owns:
	// candidates, since another shard may hold the record linking them to
	// a root. Linked lists the records without a root key that this
	// shard linked to an instance (any shard's). MultiRoot lists the root
	// sets of components linking several roots that this shard saw.
	Orphans   []OrphanCandidate `json:"orphans,omitempty"`
	Linked    []LinkedRecord    `json:"linked_unrooted,omitempty"`
	MultiRoot [][]string        `json:"multi_root,omitempty"`
}

// LinkedRecord is a record without a root key that a shard linked to an
// instance. When shards link the same record to different instances, the
// records joining those roots were read by different shards.
type LinkedRecord struct {
	Record   string `json:"record"` // provenance|kind
	Instance string `json:"instance"`
}

// ShardSource is one source's part of a shard report.
type ShardSource struct {
	Name     string `json:"name"`
	Pushdown bool   `json:"pushdown"`
	// Unrooted and UnrootedOutside count the records (kept, after as_of)
	// without a root key: every shard reads them, so a merge counts them
	// once.
	Unrooted        int `json:"unrooted"`
	UnrootedOutside int `json:"unrooted_outside_window"`
}

// OrphanCandidate is an orphan group of a shard with pushdown.
type OrphanCandidate struct {
	Root     string   `json:"root"`
	InWindow bool     `json:"in_window"`
	Records  []string `json:"records"`  // record identities: provenance|kind
	Findings []string `json:"findings"` // ids of its findings
}

// MergeInfo describes a merged report.
type MergeInfo struct {
	Shards int `json:"shards"`
	// Pushdown names the sources that read only each shard's part.
	Pushdown []string `json:"pushdown,omitempty"`
	// DroppedOrphans counts orphan candidates that another shard linked.
	DroppedOrphans int `json:"dropped_orphans,omitempty"`
	// Warnings say where the merge may differ from a single run.
	Warnings []string `json:"warnings,omitempty"`
}

func newShardInfo(res *reconcile.Result) *ShardInfo {
	sp := res.Shard()
	if sp.Count == 0 {
		return nil // not run with --shard
	}
	sh := &ShardInfo{Index: sp.Index, Count: sp.Count}
	for _, s := range res.Sources {
		sh.Sources = append(sh.Sources, ShardSource{Name: s.Name, Pushdown: s.Pushdown, Unrooted: s.Unrooted, UnrootedOutside: s.UnrootedOutside})
	}
	return sh
}

func (sh *ShardInfo) pushdown() bool {
	for _, s := range sh.Sources {
		if s.Pushdown {
			return true
		}
	}
	return false
}

// identity names a record the same way on every shard.
func (v *viewer) identity(id record.ID) string {
	v.res.Store.Get(id, &v.rec)
	return v.rec.Prov.String() + "|" + v.rec.Kind
}

func (sh *ShardInfo) addOrphan(v *viewer, inst *saga.Instance) {
	if !sh.pushdown() {
		return
	}
	c := OrphanCandidate{Root: inst.Root, InWindow: inst.InWindow, Records: []string{}, Findings: []string{}}
	for _, id := range inst.Records {
		c.Records = append(c.Records, v.identity(id))
	}
	slices.Sort(c.Records)
	for _, f := range inst.Findings {
		c.Findings = append(c.Findings, f.ID)
	}
	slices.Sort(c.Findings)
	sh.Orphans = append(sh.Orphans, c)
}

func (sh *ShardInfo) finish(v *viewer) {
	if sh == nil || !sh.pushdown() {
		return
	}
	v.res.EachLinkedUnrooted(func(id record.ID, instance string) {
		sh.Linked = append(sh.Linked, LinkedRecord{Record: v.identity(id), Instance: instance})
	})
	slices.SortFunc(sh.Linked, func(a, b LinkedRecord) int {
		if c := strings.Compare(a.Record, b.Record); c != 0 {
			return c
		}
		return strings.Compare(a.Instance, b.Instance)
	})
	sh.Linked = slices.Compact(sh.Linked)
	seen := map[string]bool{}
	v.res.EachMultiRoot(func(roots []string) {
		k := strings.Join(roots, "\x00")
		if !seen[k] {
			seen[k] = true
			sh.MultiRoot = append(sh.MultiRoot, slices.Clone(roots))
		}
	})
	slices.SortFunc(sh.MultiRoot, func(a, b []string) int { return slices.Compare(a, b) })
}
