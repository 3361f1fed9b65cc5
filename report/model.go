// Package report turns a run into what people and machines read: the JSON
// report (a stable, documented schema: docs/report-schema.md), a terminal
// table, markdown, and the explain and list views. It also compares a run
// with a previous report (baseline).
package report

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// Schema names the JSON report format.
const Schema = "vitals.report/v1"

// Report is the JSON report.
type Report struct {
	Schema   string    `json:"schema"`
	Run      Run       `json:"run"`
	Sources  []Source  `json:"sources"`
	Summary  Summary   `json:"summary"`
	Findings []Finding `json:"findings"`
	Resolved []Finding `json:"resolved,omitempty"`
	// Unchecked are the baseline's findings an incomplete run could not
	// check again (a source failed): neither open nor resolved, kept with
	// their first sighting so that the next run's baseline still has them.
	Unchecked []Finding  `json:"unchecked,omitempty"`
	Instances []Instance `json:"instances"`
	// RuleErrors lists invariants that could not be evaluated on some
	// instance (the first 100; Summary.RuleErrors counts them all).
	RuleErrors []RuleError `json:"rule_errors,omitempty"`
	// Shard is set on the report of one shard of a sharded run (--shard):
	// what `vitals report merge` needs besides the findings.
	Shard *ShardInfo `json:"shard,omitempty"`
	// Merged is set on a report merged from shard reports.
	Merged *MergeInfo `json:"merged,omitempty"`

	// Path is the file the report was loaded from, for messages.
	Path string `json:"-"`
}

// RuleError is an invariant that failed to evaluate on one instance.
type RuleError struct {
	Root  string `json:"root"`
	Error string `json:"error"`
}

// Run describes the run.
type Run struct {
	Process string `json:"process"`
	Config  string `json:"config,omitempty"`
	// ConfigDigest fingerprints the rules the run judged by (config.Digest).
	ConfigDigest string `json:"config_digest,omitempty"`
	// AllInstances: the report lists every judged instance (--all-instances).
	AllInstances bool   `json:"all_instances,omitempty"`
	AsOf         string `json:"as_of"`
	Since        string `json:"since,omitempty"`
	Until        string `json:"until"`
	Grace        string `json:"grace"`
	Complete     bool   `json:"complete"`
	// Baseline is the previous report this one was compared with.
	Baseline string `json:"baseline,omitempty"`
}

// Source is what one source read.
type Source struct {
	Name          string     `json:"name"`
	Type          string     `json:"type"`
	Records       int        `json:"records"`
	Filtered      int        `json:"filtered"`
	OutsideWindow int        `json:"outside_window"`
	Errors        int        `json:"errors"`
	Coverage      Coverage   `json:"coverage"`
	Error         string     `json:"error,omitempty"`
	BadInput      []BadInput `json:"bad_input,omitempty"`
}

// Coverage is the time range a source covered.
type Coverage struct {
	Since    string `json:"since,omitempty"`
	Until    string `json:"until,omitempty"`
	Complete bool   `json:"complete"`
}

// BadInput is one input that could not become a record.
type BadInput struct {
	At    string `json:"at"`
	Error string `json:"error"`
}

// Summary counts.
type Summary struct {
	Instances      int            `json:"instances"`
	Judged         int            `json:"judged"`
	BeforeWindow   int            `json:"before_window"`
	InGrace        int            `json:"in_grace"`
	Outcomes       map[string]int `json:"outcomes"`
	NeedsAttention int            `json:"needs_attention"`
	Orphans        int            `json:"orphans"`
	Findings       int            `json:"findings"`
	BySeverity     map[string]int `json:"by_severity"`
	RuleErrors     int            `json:"rule_errors"`
	ByCode         map[string]int `json:"by_code"`
	Baseline       *BaselineCount `json:"baseline,omitempty"`
}

// BaselineCount counts findings by baseline status.
type BaselineCount struct {
	New      int `json:"new"`
	Open     int `json:"open"`
	Resolved int `json:"resolved"`
	// Unchecked counts the baseline's findings this run could not check
	// (a source failed); AgedOut those whose instances this run no longer
	// judges (they started before its window).
	Unchecked int `json:"unchecked"`
	AgedOut   int `json:"aged_out"`
}

// Finding is one finding.
type Finding struct {
	ID        string     `json:"id"`
	Code      string     `json:"code"`
	Severity  string     `json:"severity"`
	Process   string     `json:"process"`
	Root      string     `json:"root"`
	Step      string     `json:"step,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	Message   string     `json:"message"`
	Started   string     `json:"instance_start"`
	Status    string     `json:"status,omitempty"`     // new, open, resolved (with --baseline)
	FirstSeen string     `json:"first_seen,omitempty"` // as_of of the run that first reported it
	Evidence  []Evidence `json:"evidence"`
}

// Evidence is one record cited by a finding or an explanation.
type Evidence struct {
	At       string            `json:"at"`
	Source   string            `json:"source"`
	Kind     string            `json:"kind"`
	Time     string            `json:"time"`
	Status   string            `json:"status,omitempty"`
	Amount   *int64            `json:"amount,omitempty"`
	Currency string            `json:"currency,omitempty"`
	Keys     map[string]string `json:"keys"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Role     string            `json:"role,omitempty"`
	Step     string            `json:"step,omitempty"`
}

// Instance summarizes one instance.
type Instance struct {
	Root           string         `json:"root"`
	Roots          []string       `json:"roots,omitempty"`
	Orphan         bool           `json:"orphan,omitempty"`
	Outcome        string         `json:"outcome"`
	NeedsAttention bool           `json:"needs_attention"`
	Note           string         `json:"note,omitempty"`
	Start          string         `json:"start"`
	Last           string         `json:"last"`
	InWindow       bool           `json:"in_window"`
	Steps          []Step         `json:"steps"`
	Compensations  []Compensation `json:"compensations,omitempty"`
	Findings       []string       `json:"findings"`
}

// Step is one step's state.
type Step struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Attempts int    `json:"attempts"`
	At       string `json:"at,omitempty"`
	Deadline string `json:"deadline,omitempty"`
	Note     string `json:"note,omitempty"`
	Evidence string `json:"evidence,omitempty"` // provenance of the deciding record
}

// Compensation is one compensation's state.
type Compensation struct {
	Name     string `json:"name"`
	For      string `json:"for"`
	State    string `json:"state"`
	At       string `json:"at,omitempty"`
	Deadline string `json:"deadline,omitempty"`
	Note     string `json:"note,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// before reports whether report time a is before b. Report times are
// RFC 3339 with a fraction of a second when there is one, which text
// order gets wrong ("12:00:00.5Z" < "12:00:00Z"); an empty or unreadable
// time compares as text ("" first).
func before(a, b string) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA != nil || errB != nil {
		return a < b
	}
	return ta.Before(tb)
}

// Options tune Build.
type Options struct {
	ConfigPath string
	// ConfigDigest is config.Digest of the run's config.
	ConfigDigest string
	// AllInstances lists every instance, not only those with findings.
	AllInstances bool
}

// Build evaluates every instance of res and assembles the report.
func Build(ctx context.Context, res *reconcile.Result, opts Options) (*Report, error) {
	in := res.In
	rep := &Report{
		Schema: Schema,
		Run: Run{
			Process:      res.Model.Name,
			Config:       opts.ConfigPath,
			ConfigDigest: opts.ConfigDigest,
			AllInstances: opts.AllInstances,
			AsOf:         ts(in.AsOf),
			Since:        ts(in.Since),
			Until:        ts(in.Until),
			Grace:        in.Grace.String(),
			Complete:     res.Complete,
		},
		Summary: Summary{
			Outcomes:   map[string]int{},
			BySeverity: map[string]int{},
			ByCode:     map[string]int{},
		},
		Findings:  []Finding{},
		Instances: []Instance{},
	}
	for _, o := range saga.Outcomes {
		rep.Summary.Outcomes[string(o)] = 0
	}
	for s := saga.Info; s <= saga.Critical; s++ {
		rep.Summary.BySeverity[s.String()] = 0
	}
	for _, s := range res.Sources {
		rep.Sources = append(rep.Sources, sourceOf(s))
	}
	v := newViewer(res)
	sh := newShardInfo(res)
	rep.Shard = sh
	start := time.Now()
	// Everything kept of an instance is copied (v.instance, v.finding,
	// addOrphan), so its memory can go to the next ones.
	err := res.EachTransient(ctx, func(inst *saga.Instance) error {
		if sh != nil && inst.Orphan {
			sh.addOrphan(v, inst)
		}
		sum := &rep.Summary
		switch {
		case inst.Orphan:
			if inst.InWindow {
				sum.Orphans++
			}
		case !inst.InWindow:
			sum.Instances++
			sum.BeforeWindow++
		default:
			sum.Instances++
			sum.Judged++
			if inst.InGrace {
				sum.InGrace++
			}
			sum.Outcomes[string(inst.Outcome)]++
			if inst.NeedsAttention {
				sum.NeedsAttention++
			}
		}
		for _, f := range inst.Findings {
			rep.Findings = append(rep.Findings, v.finding(inst, f))
		}
		for _, e := range inst.RuleErrors {
			sum.RuleErrors++
			if len(rep.RuleErrors) < 100 {
				rep.RuleErrors = append(rep.RuleErrors, RuleError{Root: inst.Root, Error: e})
			}
		}
		if !inst.Orphan && (len(inst.Findings) > 0 || opts.AllInstances && inst.InWindow) {
			rep.Instances = append(rep.Instances, v.instance(inst))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sh.finish(v)
	slog.Debug("evaluated instances", "components", res.Owned(), "findings", len(rep.Findings), "took", time.Since(start).Round(time.Millisecond))
	SortFindings(rep.Findings)
	for _, f := range rep.Findings {
		rep.Summary.Findings++
		rep.Summary.BySeverity[f.Severity]++
		rep.Summary.ByCode[f.Code]++
	}
	return rep, nil
}

// SortFindings orders findings: most severe first, then code, root, step, subject.
func SortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		sa, sb := sevRank(a.Severity), sevRank(b.Severity)
		if sa != sb {
			return sa > sb
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		if a.Root != b.Root {
			return a.Root < b.Root
		}
		if a.Step != b.Step {
			return a.Step < b.Step
		}
		return a.Subject < b.Subject
	})
}

func sevRank(s string) int {
	v, err := saga.ParseSeverity(s)
	if err != nil {
		return 0
	}
	return int(v)
}

func sourceOf(s reconcile.SourceReport) Source {
	out := Source{
		Name: s.Name, Type: s.Type, Records: s.Records, Filtered: s.Filtered,
		OutsideWindow: s.OutsideWindow, Errors: s.Bad,
		Coverage: Coverage{Since: ts(s.Coverage.Since), Until: ts(s.Coverage.Until), Complete: s.Coverage.Complete},
	}
	if s.Err != nil {
		out.Error = s.Err.Error()
	}
	for _, b := range s.BadList {
		out.BadInput = append(out.BadInput, BadInput{At: b.At.String(), Error: b.Error})
	}
	return out
}

// viewer turns records and instances into report shapes.
type viewer struct {
	res  *reconcile.Result
	mask map[string]bool
	rec  record.Record
}

func newViewer(res *reconcile.Result) *viewer {
	v := &viewer{res: res, mask: map[string]bool{}}
	for _, m := range res.In.Mask {
		v.mask[m] = true
	}
	return v
}

func (v *viewer) evidence(id record.ID) Evidence {
	v.res.Store.Get(id, &v.rec)
	r := &v.rec
	e := Evidence{
		At: r.Prov.String(), Source: r.Prov.Source, Kind: r.Kind, Time: ts(r.Time),
		Status: r.Status, Currency: r.Currency, Keys: map[string]string{},
	}
	if r.HasAmount {
		a := r.Amount
		e.Amount = &a
	}
	for _, k := range r.Keys {
		e.Keys[k.Name] = k.Value
	}
	if len(r.Attrs) > 0 {
		e.Attrs = map[string]string{}
		for _, a := range r.Attrs {
			if v.mask[a.Name] {
				e.Attrs[a.Name] = "***"
			} else {
				e.Attrs[a.Name] = a.Value
			}
		}
	}
	return e
}

func (v *viewer) finding(inst *saga.Instance, f *saga.Finding) Finding {
	out := Finding{
		ID: f.ID, Code: string(f.Code), Severity: f.Severity.String(), Process: f.Process,
		Root: f.Root, Step: f.Step, Subject: f.Subject, Message: f.Message, Started: ts(inst.Start),
		Evidence: []Evidence{},
	}
	// In time order, as an instance's records are.
	ids := slices.Clone(f.Evidence)
	slices.SortFunc(ids, v.res.Store.Compare)
	for _, id := range ids {
		out.Evidence = append(out.Evidence, v.evidence(id))
	}
	return out
}

func (v *viewer) instance(inst *saga.Instance) Instance {
	out := Instance{
		Root: inst.Root, Orphan: inst.Orphan, Outcome: string(inst.Outcome),
		NeedsAttention: inst.NeedsAttention, Note: inst.Note,
		Start: ts(inst.Start), Last: ts(inst.Last), InWindow: inst.InWindow,
		Steps: []Step{}, Findings: []string{},
	}
	if len(inst.Roots) > 1 {
		out.Roots = inst.Roots
	}
	for _, s := range inst.Steps {
		out.Steps = append(out.Steps, Step{
			Name: s.Name, State: string(s.State), Attempts: s.Attempts,
			At: ts(s.At), Deadline: ts(s.Deadline), Note: s.Note,
			Evidence: v.decidingProv(s.State, s.Evidence),
		})
	}
	for _, c := range inst.Compensations {
		out.Compensations = append(out.Compensations, Compensation{
			Name: c.Name, For: c.For, State: string(c.State), At: ts(c.At),
			Deadline: ts(c.Deadline), Note: c.Note, Evidence: v.decidingProv(c.State, c.Evidence),
		})
	}
	for _, f := range inst.Findings {
		out.Findings = append(out.Findings, f.ID)
	}
	slices.Sort(out.Findings)
	return out
}

// deciding returns the record that decided a state: the first success,
// the last failure, or the first request.
func deciding(state saga.State, ev []saga.Evidence) (record.ID, bool) {
	want := []saga.Role{saga.RoleRequested, saga.RoleUnknown}
	last := false
	switch state {
	case saga.Succeeded, saga.Compensated, saga.Conflicting:
		want = []saga.Role{saga.RoleSucceeded}
	case saga.Failed, saga.CompensationFailed:
		want, last = []saga.Role{saga.RoleFailed}, true
	case saga.Unknown:
		want = []saga.Role{saga.RoleUnknown, saga.RoleRequested}
	}
	found, ok := record.ID(0), false
	for _, e := range ev {
		if slices.Contains(want, e.Role) {
			found, ok = e.Record, true
			if !last {
				break
			}
		}
	}
	return found, ok
}

func (v *viewer) decidingProv(state saga.State, ev []saga.Evidence) string {
	id, ok := deciding(state, ev)
	if !ok {
		return ""
	}
	v.res.Store.Get(id, &v.rec)
	return v.rec.Prov.String()
}
