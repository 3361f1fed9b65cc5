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
		return nil, fmt.Errorf("baseline %s is not a vitals JSON report (run `vitals check --format json --out FILE` to make one): %w", path, err)
	}
	if r.Schema != Schema {
		return nil, fmt.Errorf("baseline %s has schema %q; this vitals reads %q", path, r.Schema, Schema)
	}
	if r.Shard != nil && r.Shard.Count > 1 {
		return nil, fmt.Errorf("baseline %s is the report of shard %d/%d only: give the merged report (vitals report merge), or every other shard's findings would look new", path, r.Shard.Index, r.Shard.Count)
	}
	return &r, nil
}

// ApplyBaseline marks each finding of rep new or open (carrying its first
// sighting forward) and lists the previous findings that are gone as
// resolved. A finding whose instance this run does not judge (it started
// before this run's window, at or after its end, or within the grace
// period before as_of) is not resolved, only no longer checked; an
// incomplete run resolves nothing.
func ApplyBaseline(rep, prev *Report, path string) {
	rep.Run.Baseline = path
	prevByID := map[string]Finding{}
	for _, f := range prev.Findings {
		prevByID[f.ID] = f
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
	if rep.Run.Complete {
		for _, p := range prev.Findings {
			if now[p.ID] {
				continue
			}
			if !judgedIn(rep.Run, p.Started) {
				continue // its instance is not judged by this run: not resolved
			}
			p.Status = "resolved"
			if p.FirstSeen == "" {
				p.FirstSeen = prev.Run.AsOf
			}
			p.Evidence = nil
			rep.Resolved = append(rep.Resolved, p)
			count.Resolved++
		}
		SortFindings(rep.Resolved)
	}
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
