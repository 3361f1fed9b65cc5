package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// LoadBaseline reads a previous JSON report.
func LoadBaseline(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read baseline: %w; on the first run there is no previous report: leave out --baseline (the JSON report this run writes with --out is the next run's baseline)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("read baseline: %w", err)
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("baseline %s %s", path, notAReport(b, err))
	}
	r.Path = path
	if r.Schema != Schema {
		return nil, fmt.Errorf("baseline %s has schema %q; this vitals reads %q", path, r.Schema, Schema)
	}
	if r.Shard != nil && r.Shard.Count > 1 {
		return nil, fmt.Errorf("baseline %s is the report of shard %d/%d only: give the merged report (vitals report merge), or every other shard's findings would look new", path, r.Shard.Index, r.Shard.Count)
	}
	return &r, nil
}

// CheckBaseline tells whether prev can be the baseline of a run: the same
// process, judged no later than the run. It returns a warning when the
// rules changed between them (findings of a changed rule may come and go).
// Runs call it before reading anything.
func CheckBaseline(prev *Report, run Run) (warning string, err error) {
	if prev.Run.Process != run.Process {
		return "", fmt.Errorf("baseline %s is a report of process %q, this run audits %q: give the previous report of this process", prev.Path, prev.Run.Process, run.Process)
	}
	if before(run.AsOf, prev.Run.AsOf) {
		return "", fmt.Errorf("baseline %s was judged as of %s, after this run's as_of %s: give an earlier report (were the files swapped?)", prev.Path, prev.Run.AsOf, run.AsOf)
	}
	if prev.Run.ConfigDigest != "" && run.ConfigDigest != "" && prev.Run.ConfigDigest != run.ConfigDigest {
		return fmt.Sprintf("baseline %s was judged with other rules (config digest %s, now %s): findings of a changed rule, source or mapping may show as new or resolved because of the change", prev.Path, prev.Run.ConfigDigest, run.ConfigDigest), nil
	}
	return "", nil
}

// ApplyBaseline marks each finding of rep new or open (carrying its first
// sighting forward) and lists the previous findings that are gone as
// resolved. A finding whose instance this run does not judge (it started
// before this run's window, at or after its end, or within the grace
// period before as_of) is not resolved, only no longer checked (aged
// out, when it started before the window). An incomplete run resolves
// nothing: the previous findings it did not see again are kept as
// unchecked, with their first sighting, for the next run.
func ApplyBaseline(rep, prev *Report, path string) {
	rep.Run.Baseline = path
	prevByID := map[string]Finding{}
	var all []Finding
	for _, list := range [][]Finding{prev.Findings, prev.Unchecked} {
		for _, f := range list {
			if _, dup := prevByID[f.ID]; !dup {
				prevByID[f.ID] = f
				all = append(all, f)
			}
		}
	}
	count := &BaselineCount{}
	now := map[string]bool{}
	for i := range rep.Findings {
		f := &rep.Findings[i]
		now[f.ID] = true
		if p, ok := prevByID[f.ID]; ok {
			f.Status = "open"
			f.FirstSeen = p.FirstSeen
			if f.FirstSeen == "" {
				f.FirstSeen = prev.Run.AsOf
			}
			count.Open++
		} else {
			f.Status = "new"
			f.FirstSeen = rep.Run.AsOf
			count.New++
		}
	}
	for _, p := range all {
		if now[p.ID] {
			continue
		}
		if p.FirstSeen == "" {
			p.FirstSeen = prev.Run.AsOf
		}
		p.Evidence = nil
		switch {
		case rep.Run.Since != "" && p.Started != "" && before(p.Started, rep.Run.Since):
			count.AgedOut++ // started before this run's window: no longer checked
		case !judgedIn(rep.Run, p.Started):
			// Not judged by this run (after its window, or in flight at
			// its as_of): not resolved, and not lost either.
			p.Status = "unchecked"
			rep.Unchecked = append(rep.Unchecked, p)
			count.Unchecked++
		case !rep.Run.Complete:
			p.Status = "unchecked"
			rep.Unchecked = append(rep.Unchecked, p)
			count.Unchecked++
		default:
			p.Status = "resolved"
			rep.Resolved = append(rep.Resolved, p)
			count.Resolved++
		}
	}
	SortFindings(rep.Resolved)
	SortFindings(rep.Unchecked)
	rep.Summary.Baseline = count
}

// judgedIn tells whether a run judges an instance that started at started:
// inside the run's window [since, until) and older than the grace period.
// An unknown start (or an unreadable time) counts as judged.
func judgedIn(run Run, started string) bool {
	if started == "" {
		return true
	}
	if run.Since != "" && before(started, run.Since) {
		return false // aged out of the window
	}
	if run.Until != "" && !before(started, run.Until) {
		return false // after the window: an earlier as_of or until
	}
	asOf, err1 := time.Parse(time.RFC3339Nano, run.AsOf)
	grace, err2 := time.ParseDuration(run.Grace)
	st, err3 := time.Parse(time.RFC3339Nano, started)
	if err1 == nil && err2 == nil && err3 == nil && asOf.Sub(st) < grace {
		return false // in flight at this run's as_of
	}
	return true
}
