package dlq

import (
	"context"
	"sort"
	"time"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/saga"
)

// Schema names the JSON form of a triage.
const Schema = "vitals.dlq/v1"

// Triaged is every dead letter of a run with its verdict, and a summary by
// error class. Its JSON form is documented in docs/plan-schema.md.
type Triaged struct {
	Schema  string   `json:"schema"`
	Run     Run      `json:"run"`
	Summary Summary  `json:"summary"`
	Classes []Class  `json:"classes"`
	Letters []Letter `json:"letters"`
}

// Run describes the run the triage comes from.
type Run struct {
	Process  string `json:"process"`
	AsOf     string `json:"as_of"`
	Since    string `json:"since,omitempty"`
	Until    string `json:"until"`
	Complete bool   `json:"complete"`
}

// Summary counts letters by verdict.
type Summary struct {
	Letters   int            `json:"letters"`
	ByVerdict map[string]int `json:"by_verdict"`
	// NotJudged counts dead letters of instances the run does not judge
	// (started before the window, or still within grace).
	NotJudged int `json:"not_judged"`
}

// Class summarizes the dead letters of one error class.
type Class struct {
	Class     string         `json:"class"`
	Count     int            `json:"count"`
	FirstSeen time.Time      `json:"first_seen"`
	LastSeen  time.Time      `json:"last_seen"`
	ByVerdict map[string]int `json:"by_verdict"`
	Example   Example        `json:"example"`
}

// Example is one dead letter of a class.
type Example struct {
	At      string `json:"at"`
	Root    string `json:"root"`
	Message string `json:"message,omitempty"`
}

// NoClass is the class of dead letters that carry no error class.
const NoClass = "(none)"

// Build triages every dead letter of the instances the run judges, in
// instance order.
func Build(ctx context.Context, res *reconcile.Result) (*Triaged, error) {
	t := &Triaged{
		Schema: Schema,
		Run: Run{
			Process: res.Model.Name, AsOf: ts(res.In.AsOf), Since: ts(res.In.Since),
			Until: ts(res.In.Until), Complete: res.Complete,
		},
		Summary: Summary{ByVerdict: map[string]int{}},
		Classes: []Class{},
		Letters: []Letter{},
	}
	for _, v := range Verdicts {
		t.Summary.ByVerdict[string(v)] = 0
	}
	err := res.Each(ctx, func(in *saga.Instance) error {
		ls := Triage(res.Model, res.Store, in)
		if len(ls) == 0 {
			return nil
		}
		if !in.InWindow || in.InGrace {
			t.Summary.NotJudged += len(ls)
			return nil
		}
		t.Letters = append(t.Letters, ls...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, l := range t.Letters {
		t.Summary.Letters++
		t.Summary.ByVerdict[string(l.Verdict)]++
	}
	t.Classes = Classes(t.Letters)
	return t, nil
}

// Classes groups letters by error class: most frequent first, then by name.
// The example is the earliest letter of the class.
func Classes(ls []Letter) []Class {
	idx := map[string]int{}
	out := []Class{}
	var exAt []time.Time // time of each class's example
	for _, l := range ls {
		name := l.ErrorClass
		if name == "" {
			name = NoClass
		}
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, Class{Class: name, FirstSeen: l.Time, LastSeen: l.Time, ByVerdict: map[string]int{}})
			exAt = append(exAt, l.Time)
			out[i].Example = Example{At: l.At, Root: l.Root, Message: l.ErrorMessage}
		}
		c := &out[i]
		c.Count++
		c.ByVerdict[string(l.Verdict)]++
		if l.Time.Before(c.FirstSeen) {
			c.FirstSeen = l.Time
		}
		if l.Time.After(c.LastSeen) {
			c.LastSeen = l.Time
		}
		if l.Time.Before(exAt[i]) {
			exAt[i] = l.Time
			c.Example = Example{At: l.At, Root: l.Root, Message: l.ErrorMessage}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Class < out[j].Class
	})
	return out
}

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
