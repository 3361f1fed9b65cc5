// Package dlq triages dead letters: each dead-lettered message is joined to
// its instance and step and given a verdict — resolved (its effect happened
// later), replay (safe to replay), compensate (replaying would now do harm)
// or manual — with a one-line reason. It also summarizes dead letters by
// error class. It reads a run; it never touches a queue.
package dlq

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// Verdict says what to do with a dead letter.
type Verdict string

const (
	// Resolved: its effect happened later; safe to drop.
	Resolved Verdict = "resolved"
	// Replay: the effect is missing, the instance is still consistent and
	// the step is idempotent; replaying the original message completes it.
	Replay Verdict = "replay"
	// Compensate: replaying would now do harm (the instance is being undone
	// or failed for another reason); compensate instead and drop it.
	Compensate Verdict = "compensate"
	// Manual: cannot be decided from the evidence.
	Manual Verdict = "manual"
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{Replay, Compensate, Manual, Resolved}

// Attribute names a dead-letter record carries (see configs/checkout.yaml).
const (
	AttrTopic        = "original_topic"
	AttrPartition    = "original_partition"
	AttrOffset       = "original_offset"
	AttrErrorClass   = "error_class"
	AttrErrorMessage = "error_message"
)

// Original is where the dead-lettered message was first published.
type Original struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// String writes topic/partition@offset.
func (o Original) String() string {
	return fmt.Sprintf("%s/%d@%d", o.Topic, o.Partition, o.Offset)
}

// Letter is one dead letter with its verdict.
type Letter struct {
	Record record.ID `json:"-"`
	// At is the dead letter's own provenance (e.g. dlq:dead_letters.jsonl:4).
	At       string    `json:"at"`
	Time     time.Time `json:"time"`
	Root     string    `json:"root"`
	Orphan   bool      `json:"orphan,omitempty"`
	Step     string    `json:"step,omitempty"`
	StepIdx  int       `json:"-"` // index of Step in the model, -1 if none
	Delivery string    `json:"delivery_key,omitempty"`
	// Original is nil when the record does not say where the message came
	// from: it cannot be replayed.
	Original     *Original `json:"original,omitempty"`
	ErrorClass   string    `json:"error_class,omitempty"`
	ErrorMessage string    `json:"error_message,omitempty"`
	Verdict      Verdict   `json:"verdict"`
	Reason       string    `json:"reason"`
	// Finding is the id of the UNRESOLVED_DEAD_LETTER finding about it, if any.
	Finding string `json:"finding,omitempty"`
}

// Triage returns the verdict on every dead letter of one instance (or
// orphan group), in record order.
func Triage(m *rules.Model, st *record.Store, in *saga.Instance) []Letter {
	dead, ok := st.Sym(record.KindDeadLetter)
	if !ok {
		return nil
	}
	var out []Letter
	var rec record.Record
	for _, id := range in.Records {
		if _, kind, _ := st.Sig(id); kind != dead {
			continue
		}
		st.Get(id, &rec)
		l := Letter{
			Record: id, At: rec.Prov.String(), Time: rec.Time, Root: in.Root, Orphan: in.Orphan, StepIdx: -1,
			ErrorClass: rec.Attr(AttrErrorClass), ErrorMessage: rec.Attr(AttrErrorMessage),
			Original: original(&rec),
		}
		if m.DeliveryType >= 0 {
			l.Delivery, _ = rec.Key(m.KeyTypes[m.DeliveryType])
		}
		for _, f := range in.Findings {
			if f.Code == saga.UnresolvedDeadLetter && slices.Contains(f.Evidence, id) {
				l.Finding = f.ID
			}
		}
		judge(m, st, in, &l)
		out = append(out, l)
	}
	onePerStep(out)
	return out
}

// onePerStep turns replays into manual verdicts where one step has several
// different messages to replay (other delivery keys, or other origins when
// there is none): an idempotent consumer dedupes one message, not two that
// each do the step, so replaying them all could do it twice.
func onePerStep(ls []Letter) {
	id := func(l *Letter) string {
		switch {
		case l.Delivery != "":
			return l.Delivery
		case l.Original != nil:
			return l.Original.String()
		}
		return l.At
	}
	for i := range ls {
		if ls[i].Verdict != Replay {
			continue
		}
		var msgs, at []string
		for j := range ls {
			if ls[j].StepIdx == ls[i].StepIdx && ls[j].Verdict != Resolved && ls[j].Verdict != Compensate {
				if !slices.Contains(msgs, id(&ls[j])) {
					msgs = append(msgs, id(&ls[j]))
				}
				at = append(at, ls[j].At)
			}
		}
		if len(msgs) > 1 {
			ls[i].Verdict = Manual
			ls[i].Reason = fmt.Sprintf("%d dead letters of %s (%s) are different messages: replaying more than one could do it twice; replay one by hand", len(at), ls[i].Step, strings.Join(at, ", "))
		}
	}
}

func original(r *record.Record) *Original {
	topic := r.Attr(AttrTopic)
	p, perr := strconv.ParseInt(strings.TrimSpace(r.Attr(AttrPartition)), 10, 32)
	o, oerr := strconv.ParseInt(strings.TrimSpace(r.Attr(AttrOffset)), 10, 64)
	if topic == "" || perr != nil || oerr != nil || p < 0 || o < 0 {
		return nil
	}
	return &Original{Topic: topic, Partition: int32(p), Offset: o}
}

// judge decides one letter's verdict.
func judge(m *rules.Model, st *record.Store, in *saga.Instance, l *Letter) {
	set := func(v Verdict, format string, args ...any) {
		l.Verdict, l.Reason = v, fmt.Sprintf(format, args...)
	}
	if in.Orphan {
		set(Manual, "links to no %s: nothing to judge its effect against", m.Root)
		return
	}
	var sr *saga.StepResult
	for i := range in.Steps {
		if hasRecord(in.Steps[i].Evidence, l.Record) {
			sr, l.Step, l.StepIdx = &in.Steps[i], in.Steps[i].Name, i
			break
		}
	}
	if onlyDeadLetters(st, in) {
		set(Manual, "dead letters are the only trace of %s %s: nothing to judge their effect against", strings.TrimSuffix(m.Root, "_id"), in.Root)
		return
	}
	if sr == nil {
		for _, c := range m.Comps {
			if hasRecord(in.CompEvidence[c.Name], l.Record) {
				l.Step = c.Name
				if hasRole(in.CompEvidence[c.Name], saga.RoleSucceeded) {
					set(Resolved, "%s was done later: safe to drop", c.Name)
				} else {
					set(Manual, "a message of compensation %s that never completed: plan the compensation rather than replaying it", c.Name)
				}
				return
			}
		}
		set(Manual, "matches no step of %s: its effect cannot be checked", m.Name)
		return
	}
	if !in.InWindow || in.InGrace {
		// Not judged by the run: say so rather than guess.
		if sr.Effective == saga.Succeeded {
			set(Resolved, "%s succeeded at %s: its effect happened", sr.Name, stamp(sr.At))
			return
		}
		set(Manual, "the instance is not judged in this run (in flight or before the window)")
		return
	}
	if sr.Effective == saga.Succeeded {
		set(Resolved, "%s succeeded at %s: its effect happened; safe to drop", sr.Name, stamp(sr.At))
		return
	}
	// The effect is missing. Was the instance undone already? Then the
	// effect is no longer wanted, and nothing is left to do about it.
	if in.Outcome == saga.CompensatedOutcome && onlyDeadLetterFindings(in) {
		set(Resolved, "%s never happened, but the instance was undone (every compensation done): its effect is no longer wanted; safe to drop", sr.Name)
		return
	}
	// Would a replay do harm?
	if c, at := compensationBegun(m, st, in); c != "" {
		set(Compensate, "%s is missing but %s began at %s: a replay would act on an instance being undone", sr.Name, c, stamp(at))
		return
	}
	for i := 0; i < l.StepIdx; i++ {
		if in.Steps[i].Effective == saga.Failed {
			set(Compensate, "%s failed at %s: the instance cannot go forward, so a replay of %s would do harm", in.Steps[i].Name, stamp(in.Steps[i].At), sr.Name)
			return
		}
	}
	if why := rejected(st, sr); why != "" {
		set(Compensate, "%s was rejected (%s): a replay would retry a business rejection", sr.Name, why)
		return
	}
	if in.Aborted && in.FailedStep != "" && in.FailedStep != sr.Name {
		set(Compensate, "the instance failed at %s, not at %s: a replay would not repair it", in.FailedStep, sr.Name)
		return
	}
	// No harm in sight; is a replay safe and possible?
	for i := range in.Steps {
		if s := in.Steps[i]; s.Effective == saga.Unknown || s.State == saga.Conflicting && s.Effective != saga.Succeeded && s.Effective != saga.Failed {
			set(Manual, "the outcome of %s is unknown: find it out before replaying anything", s.Name)
			return
		}
	}
	if len(in.Roots) > 1 {
		set(Manual, "records link %d %s values into this instance: judge it by hand", len(in.Roots), m.Root)
		return
	}
	for i := 0; i < l.StepIdx; i++ {
		if s := in.Steps[i]; s.Effective != saga.Succeeded {
			set(Manual, "%s, before it, is %s: a replay would run ahead of it", s.Name, s.State)
			return
		}
	}
	for i := l.StepIdx + 1; i < len(in.Steps); i++ {
		if s := in.Steps[i]; s.Effective == saga.Succeeded {
			set(Manual, "%s shows no success, but %s, after it, succeeded at %s: its effect may have happened some other way; find out before replaying", sr.Name, s.Name, stamp(s.At))
			return
		}
	}
	if !m.Steps[l.StepIdx].Idempotent {
		set(Manual, "%s never happened, but it is not marked idempotent: a replay might act twice", sr.Name)
		return
	}
	if l.Original == nil {
		set(Manual, "%s never happened, but the dead letter does not say its original topic/partition/offset: it cannot be replayed", sr.Name)
		return
	}
	set(Replay, "%s never happened, the instance is otherwise consistent and %s is idempotent: replay %s", sr.Name, sr.Name, l.Original)
}

func onlyDeadLetters(st *record.Store, in *saga.Instance) bool {
	dead, _ := st.Sym(record.KindDeadLetter)
	for _, id := range in.Records {
		if _, kind, _ := st.Sig(id); kind != dead {
			return false
		}
	}
	return true
}

func hasRecord(ev []saga.Evidence, id record.ID) bool {
	return slices.ContainsFunc(ev, func(e saga.Evidence) bool { return e.Record == id })
}

func hasRole(ev []saga.Evidence, r saga.Role) bool {
	return slices.ContainsFunc(ev, func(e saga.Evidence) bool { return e.Role == r })
}

// compensationBegun names the compensation whose evidence (a request, a
// success, a failure) came first, and when: the instance is being undone.
func compensationBegun(m *rules.Model, st *record.Store, in *saga.Instance) (string, time.Time) {
	name, first := "", int64(0)
	for _, c := range m.Comps {
		for _, e := range in.CompEvidence[c.Name] {
			if t := st.UnixNano(e.Record); name == "" || t < first {
				name, first = c.Name, t
			}
		}
	}
	if name == "" {
		return "", time.Time{}
	}
	return name, time.Unix(0, first).UTC()
}

// rejected describes a failure of the step that is not a dead letter: the
// step's own service said no.
func rejected(st *record.Store, sr *saga.StepResult) string {
	dead, _ := st.Sym(record.KindDeadLetter)
	for _, e := range sr.Evidence {
		if e.Role != saga.RoleFailed {
			continue
		}
		if _, kind, _ := st.Sig(e.Record); kind == dead {
			continue
		}
		var r record.Record
		st.Get(e.Record, &r)
		return r.Kind + " at " + r.Prov.String()
	}
	return ""
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return t.UTC().Format(time.RFC3339)
}

// onlyDeadLetterFindings: nothing but dead letters is wrong with the
// instance — an undone one whose money is not all back (a partial refund)
// still needs its repair, and its dead letter is not simply moot.
func onlyDeadLetterFindings(in *saga.Instance) bool {
	for _, f := range in.Findings {
		if f.Code != saga.UnresolvedDeadLetter {
			return false
		}
	}
	return true
}
