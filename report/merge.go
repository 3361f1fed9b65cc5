package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/vitals-dev/vitals/saga"
	"github.com/vitals-dev/vitals/shard"
)

// Load reads a JSON report written by vitals check.
func Load(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s %s", path, notAReport(b, err))
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("%s has schema %q; this vitals reads %q", path, r.Schema, Schema)
	}
	r.Path = path
	return &r, nil
}

// notAReport says why b did not decode as a report.
func notAReport(b []byte, err error) string {
	var syn *json.SyntaxError
	switch {
	case len(bytes.TrimSpace(b)) == 0:
		return "is empty: the run that should have written it did not finish; run it again"
	case errors.As(err, &syn) && syn.Offset >= int64(len(bytes.TrimRight(b, " \t\r\n"))) || strings.Contains(err.Error(), "unexpected end of JSON input"):
		return fmt.Sprintf("is cut off after %d bytes (a disk full, or a copy that did not finish): run it again or copy it again", len(b))
	}
	return fmt.Sprintf("is not a vitals JSON report (write one with --format json): %v", err)
}

// name says which report of a merge r is, for messages.
func name(r *Report, k int) string {
	if r.Path != "" {
		return r.Path
	}
	return fmt.Sprintf("report %d", k+1)
}

// Merge combines the reports of every shard of one sharded run (vitals
// check --shard i/n, i = 0..n-1) into the report one unsharded run writes:
// the same findings with the same ids, the same instances, the same
// summary. Each shard judged only the instances it owns, so findings,
// instances and outcome counts are the union and the sums of the shards'.
//
// Sources: a source that every shard read in full reports the same counts
// in every shard; the merge keeps them (and warns if shards disagree: they
// read different data). A source that pushed the shard filter down read
// each rooted record in one shard and every record without a root key in
// all of them: its records and outside_window are summed with the
// unrooted ones counted once; its filtered and errors are summed (rows
// without a root key count once per shard there: an upper bound).
//
// With pushdown, orphan groups are settled here: a shard reports the
// orphan groups it owns as candidates and the root-less records it linked
// to an instance; a candidate another shard linked is dropped with its
// findings. Links between several roots that no single shard saw whole
// are warned about (Merged.Warnings), never silently merged.
func Merge(reps []*Report) (*Report, error) {
	if len(reps) == 0 {
		return nil, fmt.Errorf("no reports to merge")
	}
	n := 0
	byIndex := map[int]int{}
	for k, r := range reps {
		if r.Shard == nil {
			return nil, fmt.Errorf("%s is not a shard report: write each shard's with vitals check --shard i/n --format json", name(r, k))
		}
		if r.Merged != nil {
			return nil, fmt.Errorf("%s is already a merged report", name(r, k))
		}
		if k == 0 {
			n = r.Shard.Count
		}
		if r.Shard.Count != n {
			return nil, fmt.Errorf("reports of different shardings: %s is shard %d/%d, %s is %d/%d; merge the n reports of one run", name(reps[0], 0), reps[0].Shard.Index, n, name(r, k), r.Shard.Index, r.Shard.Count)
		}
		if j, dup := byIndex[r.Shard.Index]; dup {
			return nil, fmt.Errorf("shard %d/%d given twice: %s and %s", r.Shard.Index, n, name(reps[j], j), name(r, k))
		}
		byIndex[r.Shard.Index] = k
		if d := sameRun(reps[0].Run, r.Run); d != "" {
			return nil, fmt.Errorf("%s (shard %d/%d) and %s (shard %d/%d) judged different runs (%s): run every shard with the same config, flags, --as-of and window", name(reps[0], 0), reps[0].Shard.Index, n, name(r, k), r.Shard.Index, n, d)
		}
	}
	var missing []string
	for i := 0; i < n; i++ {
		if _, ok := byIndex[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing shard report(s) %s: a merge needs all %d shards (a failed shard must be run again)", strings.Join(missing, ", "), n)
	}
	shards := make([]*Report, n)
	for i := range shards {
		shards[i] = reps[byIndex[i]]
	}

	m := &merger{shards: shards, info: &MergeInfo{Shards: n}}
	out := &Report{
		Schema:    Schema,
		Run:       shards[0].Run,
		Findings:  []Finding{},
		Instances: []Instance{},
		Merged:    m.info,
	}
	out.Run.Baseline = ""
	for _, r := range shards {
		out.Run.Complete = out.Run.Complete && r.Run.Complete
	}
	out.Sources = m.sources()
	dropped := m.orphans()
	m.multiRoot()

	sum := &out.Summary
	sum.Outcomes, sum.BySeverity, sum.ByCode = map[string]int{}, map[string]int{}, map[string]int{}
	for _, o := range saga.Outcomes {
		sum.Outcomes[string(o)] = 0
	}
	for s := saga.Info; s <= saga.Critical; s++ {
		sum.BySeverity[s.String()] = 0
	}
	for _, r := range shards {
		rs := r.Summary
		sum.Instances += rs.Instances
		sum.Judged += rs.Judged
		sum.BeforeWindow += rs.BeforeWindow
		sum.InGrace += rs.InGrace
		sum.NeedsAttention += rs.NeedsAttention
		sum.RuleErrors += rs.RuleErrors
		for k, v := range rs.Outcomes {
			sum.Outcomes[k] += v
		}
		if !m.pushdown {
			sum.Orphans += rs.Orphans
		}
		for _, f := range r.Findings {
			if !dropped[f.ID] {
				out.Findings = append(out.Findings, f)
			}
		}
		out.Instances = append(out.Instances, r.Instances...)
		out.RuleErrors = append(out.RuleErrors, r.RuleErrors...)
	}
	if m.pushdown {
		sum.Orphans = m.orphansInWindow
	}
	// Each component is judged by exactly one shard, which lists it in the
	// order a single run does; a stable sort by the single run's keys
	// restores that run's order.
	SortFindings(out.Findings)
	for _, f := range out.Findings {
		sum.Findings++
		sum.BySeverity[f.Severity]++
		sum.ByCode[f.Code]++
	}
	sort.SliceStable(out.Instances, func(i, j int) bool { return out.Instances[i].Root < out.Instances[j].Root })
	sort.SliceStable(out.RuleErrors, func(i, j int) bool { return out.RuleErrors[i].Root < out.RuleErrors[j].Root })
	if len(out.RuleErrors) > 100 {
		out.RuleErrors = out.RuleErrors[:100]
	}
	slices.Sort(m.info.Warnings)
	m.info.Warnings = slices.Compact(m.info.Warnings)
	return out, nil
}

func sameRun(a, b Run) string {
	switch {
	case a.Process != b.Process:
		return fmt.Sprintf("process %s and %s", a.Process, b.Process)
	case a.AsOf != b.AsOf:
		return fmt.Sprintf("as_of %s and %s", a.AsOf, b.AsOf)
	case a.Since != b.Since || a.Until != b.Until:
		return fmt.Sprintf("window [%s, %s) and [%s, %s)", a.Since, a.Until, b.Since, b.Until)
	case a.Grace != b.Grace:
		return fmt.Sprintf("grace %s and %s", a.Grace, b.Grace)
	case a.ConfigDigest != b.ConfigDigest:
		return fmt.Sprintf("configs with digests %s and %s: keys, sources, process, mask or lookback differ", orNone(a.ConfigDigest), orNone(b.ConfigDigest))
	case a.AllInstances != b.AllInstances:
		return "--all-instances in one and not the other"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

type merger struct {
	shards          []*Report
	info            *MergeInfo
	pushdown        bool
	orphansInWindow int
}

func (m *merger) warnf(format string, args ...any) {
	m.info.Warnings = append(m.info.Warnings, fmt.Sprintf(format, args...))
}

// sources merges what each source read; see Merge.
func (m *merger) sources() []Source {
	var out []Source
	for si, first := range m.shards[0].Sources {
		pd := false
		var per []Source
		var sh []ShardSource
		for _, r := range m.shards {
			s, ok := findSource(r.Sources, first.Name)
			if !ok || si >= len(r.Shard.Sources) || r.Shard.Sources[si].Name != first.Name {
				m.warnf("source %s is missing from shard %d/%d: the shards ran different configs", first.Name, r.Shard.Index, r.Shard.Count)
				continue
			}
			per = append(per, s)
			sh = append(sh, r.Shard.Sources[si])
			pd = pd || r.Shard.Sources[si].Pushdown
		}
		merged := first
		merged.Error = ""
		merged.Coverage = Coverage{Since: first.Coverage.Since, Until: first.Coverage.Until, Complete: true}
		var errs []string
		for _, s := range per {
			// The shards' common coverage: the latest start, the earliest end.
			if before(merged.Coverage.Since, s.Coverage.Since) {
				merged.Coverage.Since = s.Coverage.Since
			}
			if before(s.Coverage.Until, merged.Coverage.Until) {
				merged.Coverage.Until = s.Coverage.Until
			}
			merged.Coverage.Complete = merged.Coverage.Complete && s.Coverage.Complete
			if s.Error != "" && !slices.Contains(errs, s.Error) {
				errs = append(errs, s.Error)
			}
		}
		merged.Error = strings.Join(errs, "; ")
		if pd {
			m.pushdown = true
			m.info.Pushdown = append(m.info.Pushdown, first.Name)
			merged.Records, merged.OutsideWindow, merged.Filtered, merged.Errors = 0, 0, 0, 0
			var bad []BadInput
			for k, s := range per {
				merged.Records += s.Records - sh[k].Unrooted
				merged.OutsideWindow += s.OutsideWindow - sh[k].UnrootedOutside
				merged.Filtered += s.Filtered
				merged.Errors += s.Errors
				bad = append(bad, s.BadInput...)
				if sh[k].Unrooted != sh[0].Unrooted {
					m.warnf("source %s: shards read different numbers of records without a root key (%d and %d): the data changed between shard runs", first.Name, sh[0].Unrooted, sh[k].Unrooted)
				}
			}
			merged.Records += sh[0].Unrooted
			merged.OutsideWindow += sh[0].UnrootedOutside
			sort.Slice(bad, func(i, j int) bool {
				if bad[i].At != bad[j].At {
					return bad[i].At < bad[j].At
				}
				return bad[i].Error < bad[j].Error
			})
			bad = slices.Compact(bad)
			if len(bad) > 100 {
				bad = bad[:100]
			}
			merged.BadInput = bad
		} else {
			for _, s := range per[1:] {
				if s.Error != "" || first.Error != "" || !s.Coverage.Complete || !first.Coverage.Complete {
					continue // a failed read is reported as such, not as a change of data
				}
				if s.Records != first.Records || s.Filtered != first.Filtered || s.OutsideWindow != first.OutsideWindow || s.Errors != first.Errors {
					m.warnf("source %s: shards read different data (%d and %d records, %d and %d errors): the source changed between shard runs, so instances were judged on different snapshots", first.Name, first.Records, s.Records, first.Errors, s.Errors)
				}
			}
		}
		out = append(out, merged)
	}
	return out
}

func findSource(ss []Source, name string) (Source, bool) {
	for _, s := range ss {
		if s.Name == name {
			return s, true
		}
	}
	return Source{}, false
}

// orphans settles the orphan candidates of a pushdown run and returns the
// ids of the findings of the candidates dropped.
func (m *merger) orphans() map[string]bool {
	dropped := map[string]bool{}
	if !m.pushdown {
		return dropped
	}
	linked := map[string]bool{}
	to := map[string][]string{} // record -> the instances shards linked it to
	for _, r := range m.shards {
		for _, l := range r.Shard.Linked {
			linked[l.Record] = true
			if !slices.Contains(to[l.Record], l.Instance) {
				to[l.Record] = append(to[l.Record], l.Instance)
			}
		}
	}
	split := map[string]string{} // instances joined -> an example record
	for rec, ins := range to {
		if len(ins) > 1 {
			slices.Sort(ins)
			k := strings.Join(ins, " and ")
			if ex, ok := split[k]; !ok || rec < ex {
				split[k] = rec
			}
		}
	}
	for ins, rec := range split {
		m.warnf("%s: shards linked record %s to each of these, so the records joining them were read by different shards (pushdown on %s); a single run judges them as one instance (AMBIGUOUS_LINK); run without pushdown for an exact answer about them", ins, rec, strings.Join(m.info.Pushdown, ", "))
	}
	for _, r := range m.shards {
		for _, c := range r.Shard.Orphans {
			if slices.ContainsFunc(c.Records, func(id string) bool { return linked[id] }) {
				m.info.DroppedOrphans++
				for _, f := range c.Findings {
					dropped[f] = true
				}
				continue
			}
			if c.InWindow {
				m.orphansInWindow++
			}
		}
	}
	return dropped
}

// multiRoot warns about components linking several roots that belong to
// different shards: with pushdown, the shard judging such a component did
// not read the other roots' pushed-down records, so its verdict may differ
// from a single run's.
func (m *merger) multiRoot() {
	if !m.pushdown {
		return
	}
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		p, ok := parent[x]
		if !ok || p == x {
			parent[x] = x
			return x
		}
		r := find(p)
		parent[x] = r
		return r
	}
	for _, r := range m.shards {
		for _, roots := range r.Shard.MultiRoot {
			for _, x := range roots {
				a, b := find(roots[0]), find(x)
				if a != b {
					parent[max(a, b)] = min(a, b)
				}
			}
		}
	}
	groups := map[string][]string{}
	for x := range parent {
		g := find(x)
		groups[g] = append(groups[g], x)
	}
	n := len(m.shards)
	for _, roots := range groups {
		spread := false
		for _, x := range roots {
			spread = spread || shard.Of(x, n) != shard.Of(roots[0], n)
		}
		if !spread {
			continue
		}
		slices.Sort(roots)
		m.warnf("roots %s link into one instance but belong to different shards: the shard judging it did not read the other roots' records from %s (pushdown), so its findings may differ from a single run's; run without pushdown for an exact answer about them", strings.Join(roots, ", "), strings.Join(m.info.Pushdown, ", "))
	}
}
