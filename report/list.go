package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// Filter selects instances for `vitals list`.
type Filter struct {
	Outcome string // an outcome
	Code    string // a finding code the instance has
	Step    string // with State: that step in that state
	State   string // a step or compensation state
	// NeedsAttention keeps only instances that need attention.
	NeedsAttention bool
}

// Validate checks a filter against the process.
func (f Filter) Validate(m *rules.Model) error {
	if f.Outcome != "" && !slices.Contains(saga.Outcomes, saga.Outcome(f.Outcome)) {
		var names []string
		for _, o := range saga.Outcomes {
			names = append(names, string(o))
		}
		return fmt.Errorf("--outcome %q: use one of %s", f.Outcome, strings.Join(names, ", "))
	}
	if f.Code != "" && !saga.Known(saga.Code(f.Code)) {
		return fmt.Errorf("--code %q: use one of %s", f.Code, strings.Join(saga.CodeNames(), ", "))
	}
	if f.State != "" && !slices.ContainsFunc(saga.States, func(s saga.State) bool { return stateIs(s, f.State) }) {
		var names []string
		for _, s := range saga.States {
			names = append(names, string(s))
		}
		return fmt.Errorf("--state %q: use one of %s (compensation states also without compensation_)", f.State, strings.Join(names, ", "))
	}
	if f.Step != "" {
		known := m.StepByName(f.Step) != nil
		for _, c := range m.Comps {
			known = known || c.Name == f.Step
		}
		if !known {
			var names []string
			for _, s := range m.Steps {
				names = append(names, s.Name)
			}
			for _, c := range m.Comps {
				names = append(names, c.Name)
			}
			return fmt.Errorf("--step %q is not a step or compensation of %s: use one of %s", f.Step, m.Name, strings.Join(names, ", "))
		}
		if f.State == "" {
			return fmt.Errorf("--step needs --state (e.g. --step %s --state failed)", f.Step)
		}
	}
	return nil
}

func (f Filter) match(in *saga.Instance) bool {
	if f.Outcome != "" && string(in.Outcome) != f.Outcome {
		return false
	}
	if f.NeedsAttention && !in.NeedsAttention {
		return false
	}
	if f.Code != "" && !slices.ContainsFunc(in.Findings, func(x *saga.Finding) bool { return string(x.Code) == f.Code }) {
		return false
	}
	if f.State != "" {
		hit := false
		for _, s := range in.Steps {
			if (f.Step == "" || s.Name == f.Step) && stateIs(s.State, f.State) {
				hit = true
			}
		}
		for _, c := range in.Compensations {
			if (f.Step == "" || c.Name == f.Step) && stateIs(c.State, f.State) {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// stateIs reports whether s is the state named by name, written in full or,
// for a compensation state, without its compensation_ prefix.
func stateIs(s saga.State, name string) bool {
	return string(s) == name || shortState(string(s)) == name
}

// ListItem is one line of `vitals list`.
type ListItem struct {
	Root           string   `json:"root"`
	Outcome        string   `json:"outcome"`
	NeedsAttention bool     `json:"needs_attention"`
	Start          string   `json:"start"`
	Steps          []string `json:"steps"` // name=state
	Codes          []string `json:"codes"`
}

// List returns the judged instances that match f, in root order. Orphans
// are listed only when filtering by code.
func List(ctx context.Context, res *reconcile.Result, f Filter) ([]ListItem, error) {
	out := []ListItem{}
	err := res.Each(ctx, func(in *saga.Instance) error {
		if !in.InWindow || (in.Orphan && f.Code == "") || !f.match(in) {
			return nil
		}
		it := ListItem{Root: in.Root, Outcome: string(in.Outcome), NeedsAttention: in.NeedsAttention, Start: ts(in.Start), Steps: []string{}, Codes: []string{}}
		if in.Orphan {
			it.Outcome = "orphan"
		}
		for _, s := range in.Steps {
			it.Steps = append(it.Steps, s.Name+"="+string(s.State))
		}
		for _, c := range in.Compensations {
			it.Steps = append(it.Steps, c.Name+"="+string(c.State))
		}
		for _, x := range in.Findings {
			it.Codes = append(it.Codes, string(x.Code))
		}
		slices.Sort(it.Codes)
		out = append(out, it)
		return nil
	})
	return out, err
}

// WriteList renders list items.
func WriteList(w io.Writer, items []ListItem, f Format) error {
	if f == FormatJSON {
		return WriteJSON(w, items)
	}
	md := f == FormatMarkdown
	t := table(w, md, "root", "outcome", "attention", "start", "findings", "steps not succeeded")
	for _, it := range items {
		att := ""
		if it.NeedsAttention {
			att = "yes"
		}
		var pending []string
		for _, s := range it.Steps {
			if !strings.HasSuffix(s, "=succeeded") && !strings.HasSuffix(s, "=compensated") {
				pending = append(pending, s)
			}
		}
		row(t, md, it.Root, it.Outcome, att, clock(it.Start), orDash(countCodes(it.Codes), "-"), orDash(strings.Join(pending, " "), "-"))
	}
	if err := t.Render(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d instance(s)\n", len(items))
	return nil
}
