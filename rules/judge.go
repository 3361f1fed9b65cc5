package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// Judge returns the findings of one instance: the generic saga rules
// (order, SLA, compensation, dead letters, duplicates, linking) and the
// process's invariants. Instances outside the window or within grace get
// none.
func (m *Model) Judge(st *record.Store, in *saga.Instance) ([]*saga.Finding, error) {
	if !in.InWindow || in.InGrace {
		return nil, nil
	}
	j := judge{m: m, st: st, in: in}
	if in.Orphan {
		j.orphan()
		return j.out, nil
	}
	if len(in.Roots) > 1 {
		j.add(saga.AmbiguousLink, saga.DefaultSeverity(saga.AmbiguousLink), "", "",
			fmt.Sprintf("records link %d %s values (%s) into one instance; check which records belong to which", len(in.Roots), m.Root, strings.Join(in.Roots, ", ")),
			in.Records)
	}
	for i := range in.Steps {
		j.step(m.Steps[i], &in.Steps[i])
	}
	for i := range in.Compensations {
		j.comp(&in.Compensations[i])
	}
	j.deadLetters()
	j.duplicates()
	j.invariants()
	return j.out, nil
}

type judge struct {
	m   *Model
	st  *record.Store
	in  *saga.Instance
	out []*saga.Finding
	rec record.Record
}

func (j *judge) add(code saga.Code, sev saga.Severity, step, subject, msg string, evidence []record.ID) {
	ev := slices.Clone(evidence)
	slices.Sort(ev)
	ev = slices.Compact(ev)
	j.out = append(j.out, saga.NewFinding(code, sev, j.m.Name, j.in.Root, step, subject, msg, ev))
}

func ids(ev []saga.Evidence, roles ...saga.Role) []record.ID {
	var out []record.ID
	for _, e := range ev {
		if len(roles) == 0 || slices.Contains(roles, e.Role) {
			out = append(out, e.Record)
		}
	}
	return out
}

func hhmm(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func (j *judge) step(s *Step, r *saga.StepResult) {
	switch r.State {
	case saga.Conflicting:
		j.add(saga.StatusDivergence, saga.DefaultSeverity(saga.StatusDivergence), s.Name, strings.Join(r.Divergent, ","),
			fmt.Sprintf("%s: %s (attempt %s)", s.Name, r.Note, strings.Join(r.Divergent, ", ")), ids(r.Evidence))
	case saga.Unknown:
		j.add(saga.OutcomeUnknown, saga.DefaultSeverity(saga.OutcomeUnknown), s.Name, "",
			fmt.Sprintf("%s %s; ask the system of record before any retry or compensation", s.Name, r.Note), ids(r.Evidence))
	case saga.Overdue:
		j.add(saga.StepOverdue, saga.DefaultSeverity(saga.StepOverdue), s.Name, "",
			fmt.Sprintf("%s pending since %s (SLA %s): %s", s.Name, hhmm(r.At), s.SLA, r.Note), ids(r.Evidence))
	}
	for _, a := range r.UnknownAttempts {
		var ev []record.ID
		for _, e := range r.Evidence {
			if v, _ := j.st.KeyOf(e.Record, max(s.AttemptType, 0)); s.AttemptType < 0 || v == a {
				ev = append(ev, e.Record)
			}
		}
		j.add(saga.OutcomeUnknown, saga.DefaultSeverity(saga.OutcomeUnknown), s.Name, a,
			fmt.Sprintf("%s attempt %s timed out and no source shows its outcome, while another attempt succeeded; check for a second %s before acting", s.Name, a, s.Name), ev)
	}
	if r.Skipped {
		later := ""
		for _, o := range j.in.Steps[s.Index+1:] {
			if o.Effective == saga.Succeeded {
				later = fmt.Sprintf("%s succeeded at %s", o.Name, hhmm(o.At))
				break
			}
		}
		what := "has no evidence"
		if r.State == saga.Failed {
			what = "failed"
		}
		ev := ids(r.Evidence)
		for _, o := range j.in.Steps[s.Index+1:] {
			if o.Effective == saga.Succeeded {
				ev = append(ev, ids(o.Evidence, saga.RoleSucceeded)...)
				break
			}
		}
		j.add(s.SkipCode, s.SkipSev, s.Name, "", fmt.Sprintf("%s %s, yet %s", s.Name, what, later), ev)
	}
}

func (j *judge) comp(c *saga.CompResult) {
	s := j.m.StepByName(c.For)
	sr := j.in.Step(c.For)
	switch {
	case c.State == saga.CompensationRequired && c.Late:
		failed := fmt.Sprintf("the instance began compensating at %s", hhmm(j.in.FailedAt))
		switch {
		case j.in.StepFailed:
			failed = fmt.Sprintf("%s failed at %s", j.in.FailedStep, hhmm(j.in.FailedAt))
		case j.in.FailedStep != "":
			failed = fmt.Sprintf("the instance began compensating at %s, before %s", hhmm(j.in.FailedAt), j.in.FailedStep)
		}
		j.add(s.UncompCode, s.UncompSev, s.Name, "",
			fmt.Sprintf("%s succeeded%s but %s, and %s was never done (due by %s)", s.Name, j.amountOf(sr), failed, c.Name, hhmm(c.Deadline)),
			ids(sr.Evidence, saga.RoleSucceeded))
	case c.State == saga.CompensationStalled:
		j.add(saga.CompensationStalledC, saga.DefaultSeverity(saga.CompensationStalledC), s.Name, "",
			fmt.Sprintf("%s requested at %s, not done by %s", c.Name, hhmm(c.At), hhmm(c.Deadline)), ids(c.Evidence))
	case c.State == saga.CompensationFailed:
		j.add(saga.CompensationFailedC, saga.DefaultSeverity(saga.CompensationFailedC), s.Name, "",
			fmt.Sprintf("%s of %s failed at %s and was not retried successfully", c.Name, s.Name, hhmm(c.At)), ids(c.Evidence))
	}
}

// amountOf describes the money or quantity a step moved: " (45.99 EUR)".
func (j *judge) amountOf(r *saga.StepResult) string {
	var sum int64
	cur := ""
	seen := false
	for _, e := range r.Evidence {
		if e.Role != saga.RoleSucceeded {
			continue
		}
		j.st.Get(e.Record, &j.rec)
		if !j.rec.HasAmount || (cur != "" && cur != j.rec.Currency) {
			continue
		}
		// One amount per distinct record source: the same capture reported
		// by two sources is one capture.
		if seen {
			break
		}
		sum, cur, seen = j.rec.Amount, j.rec.Currency, true
	}
	if !seen {
		return ""
	}
	return " (" + FormatMoney(sum, cur) + ")"
}

// deadLetters flags dead letters whose step never succeeded.
func (j *judge) deadLetters() {
	dead, ok := j.st.Sym(record.KindDeadLetter)
	if !ok {
		return
	}
	for _, id := range j.in.Records {
		if _, kind, _ := j.st.Sig(id); kind != dead {
			continue
		}
		step := ""
		var sr *saga.StepResult
		for i := range j.in.Steps {
			if slices.ContainsFunc(j.in.Steps[i].Evidence, func(e saga.Evidence) bool { return e.Record == id }) {
				sr = &j.in.Steps[i]
				step = sr.Name
				break
			}
		}
		if sr != nil && sr.Effective == saga.Succeeded {
			continue // reprocessed: its effect happened
		}
		j.st.Get(id, &j.rec)
		subject := j.rec.Prov.String()
		if j.m.DeliveryType >= 0 {
			if v, ok := j.rec.Key(j.m.KeyTypes[j.m.DeliveryType]); ok {
				subject = v
			}
		}
		why := ""
		if ec := j.rec.Attr("error_class"); ec != "" {
			why = " (" + ec
			if em := j.rec.Attr("error_message"); em != "" {
				why += ": " + em
			}
			why += ")"
		}
		msg := fmt.Sprintf("dead letter at %s%s: %s never succeeded afterwards", j.rec.Prov, why, step)
		if sr == nil {
			msg = fmt.Sprintf("dead letter at %s%s matches no step of %s, so its effect cannot be checked", j.rec.Prov, why, j.m.Name)
		}
		j.add(saga.UnresolvedDeadLetter, saga.DefaultSeverity(saga.UnresolvedDeadLetter), step, subject, msg, []record.ID{id})
	}
}

// duplicates reports events delivered more than once.
func (j *judge) duplicates() {
	if j.m.DeliveryType < 0 {
		return
	}
	type group struct {
		value string
		ids   []record.ID
	}
	byKey := map[string]*group{}
	for _, id := range j.in.Records {
		v, ok := j.st.KeyOf(id, j.m.DeliveryType)
		if !ok {
			continue
		}
		src, kind, _ := j.st.Sig(id)
		k := fmt.Sprintf("%d/%d/%s", src, kind, v)
		g := byKey[k]
		if g == nil {
			g = &group{value: v}
			byKey[k] = g
		}
		g.ids = append(g.ids, id)
	}
	keys := make([]string, 0, len(byKey))
	for k, g := range byKey {
		if len(g.ids) > 1 {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool { return byKey[keys[a]].value < byKey[keys[b]].value })
	for _, k := range keys {
		g := byKey[k]
		var where []string
		for _, id := range g.ids {
			j.st.Get(id, &j.rec)
			where = append(where, j.rec.Prov.String())
		}
		j.st.Get(g.ids[0], &j.rec)
		j.add(saga.DuplicateDelivery, saga.DefaultSeverity(saga.DuplicateDelivery), "", g.value,
			fmt.Sprintf("%s %s delivered %d times (%s); counted once", j.rec.Kind, g.value, len(g.ids), strings.Join(where, ", ")), g.ids)
	}
}

func (j *judge) orphan() {
	first := j.in.Records[0]
	j.st.Get(first, &j.rec)
	sev, report := j.m.OrphanSeverity(j.rec.Kind)
	if !report {
		return
	}
	more := ""
	if n := len(j.in.Records) - 1; n > 0 {
		more = fmt.Sprintf(" and %d linked record(s)", n)
	}
	j.add(saga.OrphanRecord, sev, "", "",
		fmt.Sprintf("%s %s (%s)%s link to no %s", j.rec.Kind, j.in.Root, j.rec.Prov, more, j.m.Root), j.in.Records)
}

// invariants checks the process's invariants. One that cannot be
// evaluated on this instance's data is recorded on the instance and the
// others still run: one odd instance must not stop a nightly audit.
func (j *judge) invariants() {
	if len(j.m.Invariants) == 0 {
		return
	}
	env := j.env()
	for i, inv := range j.m.Invariants {
		bad, msg, ev, err := inv.Check(env)
		if err != nil {
			j.in.RuleErrors = append(j.in.RuleErrors, fmt.Sprintf("process.invariants[%d] (%s): %v", i, inv.Code, err))
			continue
		}
		if bad {
			j.add(inv.Code, inv.Severity, inv.Step, "", msg, ev)
		}
	}
}

// env builds what invariants see of the instance.
func (j *judge) env() *InstanceEnv {
	env := &InstanceEnv{
		Root:    j.in.Root,
		Outcome: string(j.in.Outcome),
		ByKind:  map[string][]*RecordView{},
		Steps:   map[string]*StepView{},
	}
	views := make(map[record.ID]*RecordView, len(j.in.Records))
	for _, id := range j.in.Records {
		var r record.Record
		j.st.Get(id, &r)
		v := &RecordView{ID: id}
		FillEnv(&v.RecordEnv, &r)
		views[id] = v
		env.Records = append(env.Records, v)
		env.ByKind[r.Kind] = append(env.ByKind[r.Kind], v)
	}
	view := func(state saga.State, attempts int, ev []saga.Evidence, dups []record.ID) *StepView {
		sv := &StepView{State: string(state), Attempts: attempts,
			Requested: []*RecordView{}, Succeeded: []*RecordView{}, Failed: []*RecordView{}, Unknown: []*RecordView{}, Evidence: []*RecordView{}}
		for _, e := range ev {
			if slices.Contains(dups, e.Record) {
				continue
			}
			v := views[e.Record]
			sv.Evidence = append(sv.Evidence, v)
			switch e.Role {
			case saga.RoleRequested:
				sv.Requested = append(sv.Requested, v)
			case saga.RoleSucceeded:
				sv.Succeeded = append(sv.Succeeded, v)
			case saga.RoleFailed:
				sv.Failed = append(sv.Failed, v)
			case saga.RoleUnknown:
				sv.Unknown = append(sv.Unknown, v)
			}
		}
		return sv
	}
	for i := range j.in.Steps {
		s := &j.in.Steps[i]
		env.Steps[s.Name] = view(s.State, s.Attempts, s.Evidence, s.Duplicates)
	}
	for _, c := range j.m.Comps {
		state := saga.State("not_needed")
		ev := j.in.CompEvidence[c.Name]
		for _, cr := range j.in.Compensations {
			if cr.Name == c.Name {
				state = cr.State
			}
		}
		env.Steps[c.Name] = view(state, 0, ev, nil)
	}
	return env
}
