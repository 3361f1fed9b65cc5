package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// Action phases, in the order a plan lists an instance's actions: find out
// first, then go forward, then undo (reverse step order), then hand over.
const (
	phaseQuery = iota
	phaseReplay
	phaseCompensate
	phaseManual
)

type builder struct {
	m     *rules.Model
	st    *record.Store
	links []bool
	rec   record.Record
}

func newBuilder(res *reconcile.Result) *builder {
	return &builder{m: res.Model, st: res.Store, links: res.In.Links}
}

// draft is the plan of one instance under construction.
type draft struct {
	b         *builder
	in        *saga.Instance
	actions   []*Action
	handled   map[string]bool // finding ids with an action or a reason
	manual    []*saga.Finding
	reasons   []string
	unplanned []Unplanned
	// compensateDL are dead letters whose verdict is compensate: the
	// instance's compensation actions resolve them.
	compensateDL []*saga.Finding
}

func (b *builder) instance(in *saga.Instance) (*draft, error) {
	d := &draft{b: b, in: in, handled: map[string]bool{}}
	if in.Orphan {
		for _, f := range in.Findings {
			d.review(f, fmt.Sprintf("%s: find the %s it belongs to, or settle it by hand", f.Message, label(b.m.Root, "")))
		}
		return d, d.done()
	}
	d.queries()
	if hold := d.hold(); hold != "" {
		for _, f := range in.Findings {
			if f.Severity > saga.Info && !d.handled[f.ID] {
				d.review(f, "held: "+hold+"; nothing is refunded, released or retried until it is known (then re-run vitals plan)")
			}
		}
		return d, d.done()
	}
	forward, hold := d.deadLetters(dlq.Triage(b.m, b.st, in))
	if hold != "" {
		for _, f := range in.Findings {
			if f.Severity > saga.Info && !d.handled[f.ID] {
				d.review(f, "held: "+hold)
			}
		}
		return d, d.done()
	}
	if in.Aborted && !forward {
		if err := d.compensate(); err != nil {
			return nil, err
		}
	}
	d.dropDeadLetters()
	if err := d.doubleCaptures(); err != nil {
		return nil, err
	}
	d.rest()
	return d, d.done()
}

// add appends an action, or merges it into the action with the same
// idempotency key.
func (d *draft) add(a *Action, fs ...*saga.Finding) *Action {
	a.Process, a.Root = d.b.m.Name, d.in.Root
	a.IdempotencyKey = IdempotencyKey(a.Process, a.Root, a.Action, a.Target)
	if a.Resolves == nil {
		a.Resolves = []Ref{}
	}
	if a.Preconditions == nil {
		a.Preconditions = []string{}
	}
	if a.Evidence == nil {
		a.Evidence = []string{}
	}
	for _, o := range d.actions {
		if o.IdempotencyKey == a.IdempotencyKey {
			for _, e := range a.Evidence {
				if !slices.Contains(o.Evidence, e) {
					o.Evidence = append(o.Evidence, e)
				}
			}
			d.resolve(o, fs...)
			return o
		}
	}
	d.actions = append(d.actions, a)
	d.resolve(a, fs...)
	return a
}

func (d *draft) resolve(a *Action, fs ...*saga.Finding) {
	for _, f := range fs {
		d.handled[f.ID] = true
		if !slices.ContainsFunc(a.Resolves, func(r Ref) bool { return r.ID == f.ID }) {
			a.Resolves = append(a.Resolves, Ref{ID: f.ID, Code: string(f.Code)})
		}
	}
}

// review hands a finding to the instance's manual review.
func (d *draft) review(f *saga.Finding, reason string) {
	d.handled[f.ID] = true
	if !slices.Contains(d.manual, f) {
		d.manual = append(d.manual, f)
	}
	if !slices.Contains(d.reasons, reason) {
		d.reasons = append(d.reasons, reason)
	}
}

// leave records a finding the plan deliberately does not act on.
func (d *draft) leave(f *saga.Finding, reason string) {
	if d.handled[f.ID] {
		return
	}
	d.handled[f.ID] = true
	d.unplanned = append(d.unplanned, Unplanned{
		Finding: f.ID, Code: string(f.Code), Severity: f.Severity.String(),
		Root: f.Root, Step: f.Step, Reason: reason,
	})
}

func (d *draft) find(step string, codes ...saga.Code) []*saga.Finding {
	var out []*saga.Finding
	for _, f := range d.in.Findings {
		if f.Step == step && slices.Contains(codes, f.Code) {
			out = append(out, f)
		}
	}
	return out
}

// done adds the manual review, sends findings nothing covers to it, and
// orders the actions.
func (d *draft) done() error {
	for _, f := range d.in.Findings {
		if d.handled[f.ID] {
			continue
		}
		if f.Severity <= saga.Info {
			d.leave(f, "informational: nothing to repair")
			continue
		}
		d.review(f, f.Message)
	}
	if len(d.manual) > 0 {
		t := Target{Type: d.b.m.Root, ID: d.in.Root}
		if d.in.Orphan {
			t.Type = "orphan"
		}
		d.add(&Action{Action: ManualReview, Target: t, phase: phaseManual, stepIdx: -1,
			Reason: strings.Join(d.reasons, "; ")}, d.manual...)
	}
	sort.SliceStable(d.actions, func(i, j int) bool {
		a, b := d.actions[i], d.actions[j]
		if a.phase != b.phase {
			return a.phase < b.phase
		}
		if a.stepIdx != b.stepIdx {
			if a.phase == phaseCompensate {
				return a.stepIdx > b.stepIdx // reverse step order
			}
			return a.stepIdx < b.stepIdx
		}
		return false // keep the order they were planned in
	})
	return nil
}

// queries plans query_provider for every step whose outcome is unknown,
// and hands the finding to manual review as well: never a blind refund or
// retry.
func (d *draft) queries() {
	b := d.b
	for i := range d.in.Steps {
		sr := &d.in.Steps[i]
		s := b.m.Steps[i]
		who := s.Authority
		if who == "" {
			who = "the system of record"
		}
		if sr.Effective == saga.Unknown {
			fs := d.find(s.Name, saga.OutcomeUnknown, saga.StatusDivergence)
			what := "the outcome is unknown"
			targets := d.openAttempts(s, sr)
			if sr.State == saga.Conflicting {
				what = "sources disagree (" + sr.Note + ")"
				targets = d.attemptTargets(s, sr.Divergent)
			}
			for _, t := range targets {
				d.add(&Action{
					Action: QueryProvider, Step: s.Name, Target: t, phase: phaseQuery, stepIdx: i,
					Reason:   fmt.Sprintf("%s of %s %s: %s; ask %s whether %s %s took effect before refunding or retrying anything", s.Name, label(b.m.Root, ""), d.in.Root, what, who, t.Type, t.ID),
					Evidence: d.provs(evidenceIDs(sr.Evidence)),
				}, fs...)
			}
			for _, f := range fs {
				d.review(f, fmt.Sprintf("%s: decide once %s answers", f.Message, who))
			}
			continue
		}
		byAttempt := d.attemptIndex(s, sr)
		for _, a := range sr.UnknownAttempts {
			var fs []*saga.Finding
			for _, f := range d.find(s.Name, saga.OutcomeUnknown) {
				if f.Subject == a {
					fs = append(fs, f)
				}
			}
			for _, t := range d.attemptTargets(s, []string{a}) {
				d.add(&Action{
					Action: QueryProvider, Step: s.Name, Target: t, phase: phaseQuery, stepIdx: i,
					Reason:   fmt.Sprintf("attempt %s of %s timed out with no outcome while another attempt succeeded: ask %s whether it captured too (a second charge to refund)", a, s.Name, who),
					Evidence: d.provs(byAttempt[a]),
				}, fs...)
			}
			for _, f := range fs {
				d.review(f, fmt.Sprintf("%s: if %s reports a second capture, re-run vitals plan", f.Message, who))
			}
		}
	}
}

// openAttempts are the targets to ask about for an unknown step: its
// attempts with no outcome (or the instance, without attempt keys).
func (d *draft) openAttempts(s *rules.Step, sr *saga.StepResult) []Target {
	if s.AttemptType < 0 {
		return []Target{{Type: d.b.m.Root, ID: d.in.Root}}
	}
	var keys []string
	decided := map[string]bool{}
	seen := map[string]bool{}
	for _, e := range sr.Evidence {
		v, ok := d.b.st.KeyOf(e.Record, s.AttemptType)
		if !ok {
			continue
		}
		if e.Role == saga.RoleSucceeded || e.Role == saga.RoleFailed {
			decided[v] = true
		}
		if !seen[v] {
			seen[v] = true
			keys = append(keys, v)
		}
	}
	var open []string
	for _, k := range keys {
		if !decided[k] {
			open = append(open, k)
		}
	}
	return d.attemptTargets(s, open)
}

func (d *draft) attemptTargets(s *rules.Step, keys []string) []Target {
	var out []Target
	for _, k := range keys {
		if s.AttemptType < 0 || k == "" || k == saga.AttemptName("") {
			out = append(out, Target{Type: d.b.m.Root, ID: d.in.Root})
			continue
		}
		out = append(out, Target{Type: d.b.m.KeyTypes[s.AttemptType], ID: k})
	}
	if len(out) == 0 {
		out = append(out, Target{Type: d.b.m.Root, ID: d.in.Root})
	}
	return slices.CompactFunc(out, func(a, b Target) bool { return a == b })
}

// attemptIndex maps each attempt key of a step to its evidence records,
// in one pass (an instance may hold thousands of attempts).
func (d *draft) attemptIndex(s *rules.Step, sr *saga.StepResult) map[string][]record.ID {
	out := map[string][]record.ID{}
	if s.AttemptType < 0 {
		return out
	}
	for _, e := range sr.Evidence {
		if v, ok := d.b.st.KeyOf(e.Record, s.AttemptType); ok {
			out[v] = append(out[v], e.Record)
		}
	}
	return out
}

// hold says why an instance must not be repaired automatically yet.
func (d *draft) hold() string {
	in := d.in
	if len(in.Roots) > 1 {
		return fmt.Sprintf("records link %d %s values (%s) into one instance", len(in.Roots), d.b.m.Root, strings.Join(in.Roots, ", "))
	}
	for _, s := range in.Steps {
		if s.Effective == saga.Unknown {
			return "the outcome of " + s.Name + " is unknown"
		}
	}
	for _, c := range in.Compensations {
		if c.State == saga.CompensationUnknown {
			return "the outcome of " + c.For + " is unknown"
		}
	}
	return ""
}

// deadLetters plans replays and reviews by each dead letter's verdict. It
// reports whether the instance goes forward (a replay repairs the step it
// failed at, so nothing is compensated), or why it must be held: it failed
// only by a dead letter that cannot be replayed safely, and a person should
// choose between replaying it by hand and undoing the instance.
func (d *draft) deadLetters(letters []dlq.Letter) (bool, string) {
	in := d.in
	forward, hold := false, ""
	var replays []*Action
	for _, l := range letters {
		var f *saga.Finding
		for _, g := range in.Findings {
			if g.ID == l.Finding {
				f = g
			}
		}
		if f == nil {
			continue
		}
		switch l.Verdict {
		case dlq.Replay:
			a := d.add(&Action{
				Action: ReplayDeadLetter, Step: l.Step, phase: phaseReplay, stepIdx: l.StepIdx,
				Target: Target{Type: "dead_letter", ID: l.Original.String()}, Replay: l.Original,
				Preconditions: d.replayPreconditions(l),
				Reason:        l.Reason, Evidence: []string{l.At},
			}, f)
			if !in.Aborted || in.FailedStep == l.Step {
				forward = true
				if !slices.Contains(replays, a) {
					replays = append(replays, a)
				}
			}
		case dlq.Compensate:
			d.compensateDL = append(d.compensateDL, f)
			d.handled[f.ID] = true // by the compensations, or left below
		default:
			d.review(f, l.Reason)
			if in.Aborted && in.StepFailed && in.FailedStep == l.Step && !forward {
				hold = fmt.Sprintf("%s failed only by the dead letter %s (%s), which cannot be replayed safely: replay it by hand or undo the instance, then re-run vitals plan", l.Step, l.At, orQ(l.ErrorClass))
			}
		}
	}
	if forward {
		hold = ""
	}
	if !forward {
		return false, hold
	}
	// The replay stands in for every compensation the failure called for,
	// and for the replayed step being overdue.
	for _, a := range replays {
		for i, s := range d.b.m.Steps {
			var fs []*saga.Finding
			if s.Comp != nil && i < a.stepIdx {
				fs = append(fs, d.find(s.Name, s.UncompCode)...)
			}
			if s.Name == a.Step {
				fs = append(fs, d.find(s.Name, saga.StepOverdue)...)
			}
			d.resolve(a, fs...)
		}
		if in.Aborted {
			a.Reason += "; no compensation is planned, as the replay completes the saga (if it fails, re-run vitals plan)"
		}
	}
	return true, ""
}

func (d *draft) replayPreconditions(l dlq.Letter) []string {
	in := d.in
	root := label(d.b.m.Root, "")
	out := []string{fmt.Sprintf("%s still has not happened for %s %s", l.Step, root, in.Root)}
	if in.Aborted {
		out = append(out, fmt.Sprintf("no compensation of %s %s has started", root, in.Root))
	}
	for i := 0; i < l.StepIdx; i++ {
		if s := d.b.m.Steps[i]; s.Comp != nil {
			out = append(out, fmt.Sprintf("%s is still in effect (%s not done)", s.Name, s.Comp.Name))
		}
	}
	out = append(out, fmt.Sprintf("topic %s still holds offset %d of partition %d", l.Original.Topic, l.Original.Offset, l.Original.Partition))
	return out
}

// compensate plans the compensations of an aborted instance whose
// compensations are overdue, stalled or failed, in reverse step order.
// Only succeeded steps are in in.Compensations: a step that did not
// succeed is never compensated.
func (d *draft) compensate() error {
	in := d.in
	m := d.b.m
	var planned []*saga.Finding
	n := len(d.actions)
	for _, c := range in.Compensations {
		s := m.StepByName(c.For)
		sr := in.Step(c.For)
		if s == nil || sr == nil || sr.Effective != saga.Succeeded {
			continue // belt and braces: the inferer lists only succeeded steps
		}
		fs := d.find(s.Name, s.UncompCode, saga.CompensationStalledC, saga.CompensationFailedC)
		extra := d.find(s.Name, saga.DoubleCapture, saga.AmountMismatch)
		switch {
		case len(fs) > 0:
		case len(extra) > 0 && c.State == saga.Compensated:
			// Compensated in part: some charges are still captured.
		default:
			for _, f := range extra {
				d.leave(f, fmt.Sprintf("%s is %s (%s): let it finish; re-run vitals plan after %s", c.Name, c.State, c.Note, stamp(c.Deadline)))
			}
			continue
		}
		refs := append(fs, extra...)
		if err := d.undo(s, sr, c, refs); err != nil {
			return err
		}
		planned = append(planned, refs...)
	}
	if len(d.actions) > n {
		d.voids(d.actions[n:])
		for _, a := range d.actions[n:] {
			if a.phase == phaseCompensate {
				d.resolve(a, d.compensateDL...)
			}
		}
	}
	return nil
}

// dropDeadLetters leaves the dead letters a compensation should have
// resolved but none was planned: drop them, never replay.
func (d *draft) dropDeadLetters() {
	for _, f := range d.compensateDL {
		if !slices.ContainsFunc(d.actions, func(a *Action) bool { return hasRef(a, f.ID) }) {
			d.handled[f.ID] = false
			d.leave(f, "drop the dead letter: replaying it would do harm, and no compensation is planned for the instance")
		}
	}
}

func hasRef(a *Action, id string) bool {
	return slices.ContainsFunc(a.Resolves, func(r Ref) bool { return r.ID == id })
}

// undo plans the compensation c of step s for every unit the step produced.
func (d *draft) undo(s *rules.Step, sr *saga.StepResult, c saga.CompResult, refs []*saga.Finding) error {
	units, tkey := d.units(s, sr, c.Name)
	if len(units) == 0 {
		for _, f := range refs {
			d.review(f, fmt.Sprintf("%s succeeded but no record says what it produced: undo it by hand", s.Name))
		}
		return nil
	}
	cs := d.comps(s, c.Name, units, tkey)
	why := d.failure()
	if MoneyActions[c.Name] {
		because := fmt.Sprintf("the instance began compensating at %s, so %s must be undone", stamp(d.in.FailedAt), s.Name)
		if d.in.StepFailed {
			because = fmt.Sprintf("%s failed at %s, so %s must be undone", d.in.FailedStep, stamp(d.in.FailedAt), s.Name)
		}
		if c.State == saga.CompensationFailed {
			because += fmt.Sprintf(", and the earlier %s failed at %s", c.Name, stamp(c.At))
		}
		return d.refunds(s, c.Name, units, units, cs, refs, why, because)
	}
	for _, u := range units {
		a := d.compAction(s, c.Name, u, why)
		if c.State == saga.CompensationStalled && len(u.pending) > 0 {
			a.Preconditions = append(a.Preconditions, fmt.Sprintf("the %s requested at %s (%s) was never confirmed", c.Name, stamp(u.pending[0].at), u.pending[0].prov))
		}
		if len(u.failed) > 0 {
			a.Preconditions = append(a.Preconditions, fmt.Sprintf("the earlier %s (%s) failed and nothing else undid it", c.Name, strings.Join(u.failed, ", ")))
		}
		d.add(a, refs...)
	}
	return nil
}

// failure says why an aborted instance is being undone, as a precondition.
func (d *draft) failure() string {
	in := d.in
	if in.FailedStep == "" {
		return ""
	}
	return fmt.Sprintf("%s of %s %s still has not succeeded", in.FailedStep, label(d.b.m.Root, ""), in.Root)
}

// compAction builds the action undoing one unit (not money).
func (d *draft) compAction(s *rules.Step, comp string, u *unit, why string) *Action {
	m := d.b.m
	a := &Action{Action: comp, Step: s.Name, phase: phaseCompensate, stepIdx: s.Index,
		Target: d.target(u), Evidence: d.provs(u.recs)}
	switch {
	case comp == ReleaseStock:
		what := ""
		if u.hasQty {
			a.Quantity, a.Unit = &u.qty, u.sku
			what = fmt.Sprintf(" (%s × %d)", orQ(u.sku), u.qty)
		}
		a.Preconditions = []string{fmt.Sprintf("reservation %s%s is still reserved, not released", u.target, what)}
		a.Reason = fmt.Sprintf("release the stock %s reserved for %s %s", s.Name, label(m.Root, ""), d.in.Root)
	case comp == MarkOrderFailed:
		st := "its current status"
		if u.status != "" {
			st = "status " + u.status
		}
		a.Preconditions = []string{fmt.Sprintf("%s %s still has %s, not failed", strings.TrimSuffix(m.Root, "_id"), u.target, st)}
		a.Reason = fmt.Sprintf("%s %s was created but the saga failed: mark it failed", strings.TrimSuffix(m.Root, "_id"), u.target)
	default:
		a.Preconditions = []string{fmt.Sprintf("%s %s is still in effect and %s was not done", s.Name, a.Target, comp)}
		a.Reason = fmt.Sprintf("undo %s (%s) of %s %s", s.Name, a.Target, label(m.Root, ""), d.in.Root)
	}
	if why != "" {
		a.Preconditions = append(a.Preconditions, why)
	}
	return a
}

func (d *draft) target(u *unit) Target {
	if u.ttype == "" {
		return Target{Type: d.b.m.Root, ID: u.target}
	}
	return Target{Type: u.ttype, ID: u.target}
}

// voids plans void_invoice for invoices issued by succeeded steps that
// declare no compensation of their own, when the instance is being undone
// (comps are the compensation actions planned). A void resolves what the
// compensation of the nearest earlier step resolves (the order's).
func (d *draft) voids(comps []*Action) {
	b := d.b
	k := b.st.KeyTypeIndex(TargetKeys[VoidInvoice])
	if k < 0 {
		return
	}
	for i, s := range b.m.Steps {
		sr := &d.in.Steps[i]
		if s.Comp != nil || s.Retriable || sr.Effective != saga.Succeeded {
			continue
		}
		var refs []*saga.Finding
		for j := i - 1; j >= 0 && len(refs) == 0; j-- {
			for _, a := range comps {
				if a.stepIdx == j {
					refs = append(refs, d.refsOf(a)...)
				}
			}
		}
		var seen []string
		for _, e := range sr.Evidence {
			v, ok := b.st.KeyOf(e.Record, k)
			if e.Role != saga.RoleSucceeded || !ok || slices.Contains(seen, v) {
				continue
			}
			seen = append(seen, v)
			pre := []string{fmt.Sprintf("invoice %s is still issued, not voided", v)}
			if why := d.failure(); why != "" {
				pre = append(pre, why)
			}
			d.add(&Action{Action: VoidInvoice, Step: s.Name, phase: phaseCompensate, stepIdx: i,
				Target:        Target{Type: b.m.KeyTypes[k], ID: v},
				Preconditions: pre,
				Reason:        fmt.Sprintf("invoice %s was issued for %s %s, which is being undone", v, label(b.m.Root, ""), d.in.Root),
				Evidence:      d.provs([]record.ID{e.Record}),
			}, refs...)
		}
	}
}

// refsOf returns the findings an action resolves.
func (d *draft) refsOf(a *Action) []*saga.Finding {
	var out []*saga.Finding
	for _, f := range d.in.Findings {
		if hasRef(a, f.ID) {
			out = append(out, f)
		}
	}
	return out
}

// rest handles the findings no earlier rule planned.
func (d *draft) rest() {
	b := d.b
	for _, f := range d.in.Findings {
		if d.handled[f.ID] {
			continue
		}
		switch f.Code {
		case saga.StepOverdue:
			s := b.m.StepByName(f.Step)
			sr := d.in.Step(f.Step)
			if s == nil || sr == nil || s.Authority == "" {
				d.review(f, f.Message+": find out why it is stuck; nothing is retried blind")
				continue
			}
			for _, t := range d.openAttempts(s, sr) {
				d.add(&Action{Action: QueryProvider, Step: s.Name, Target: t, phase: phaseQuery, stepIdx: s.Index,
					Reason:   fmt.Sprintf("%s is pending past its SLA: ask %s whether %s %s took effect before retrying anything", s.Name, s.Authority, t.Type, t.ID),
					Evidence: d.provs(evidenceIDs(sr.Evidence))}, f)
			}
		case saga.AmountMismatch:
			d.review(f, f.Message+": decide by hand whether to refund the difference; vitals never charges")
		case saga.OverCompensation:
			d.review(f, f.Message+": more went back than came in; recover it by hand, nothing more is refunded")
		}
	}
}

func (d *draft) provs(ids []record.ID) []string {
	out := []string{}
	for _, id := range ids {
		d.b.st.Get(id, &d.b.rec)
		if p := d.b.rec.Prov.String(); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

func evidenceIDs(ev []saga.Evidence) []record.ID {
	var out []record.ID
	for _, e := range ev {
		if !slices.Contains(out, e.Record) {
			out = append(out, e.Record)
		}
	}
	return out
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

func orQ(s string) string {
	if s == "" {
		return "?"
	}
	return s
}
