package report

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// Explanation answers "what happened to KEY?".
type Explanation struct {
	Key       string      `json:"key"`
	AsOf      string      `json:"as_of"`
	Process   string      `json:"process"`
	RootType  string      `json:"root_type"`
	Instances []Explained `json:"instances"`
}

// Explained is one instance with all its evidence and findings.
type Explained struct {
	Instance
	Findings   []Finding  `json:"findings"`
	Evidence   []Evidence `json:"evidence"`
	RuleErrors []string   `json:"rule_errors,omitempty"`
}

// Explain builds the explanation of the instances found for key.
func Explain(res *reconcile.Result, key string, found []*saga.Instance) *Explanation {
	v := newViewer(res)
	ex := &Explanation{Key: key, AsOf: ts(res.In.AsOf), Process: res.Model.Name, RootType: res.Model.Root}
	for _, inst := range found {
		e := Explained{Instance: v.instance(inst), Findings: []Finding{}, Evidence: []Evidence{}, RuleErrors: inst.RuleErrors}
		for _, f := range inst.Findings {
			e.Findings = append(e.Findings, v.finding(inst, f))
		}
		SortFindings(e.Findings)
		roles := rolesOf(inst)
		for _, id := range inst.Records {
			ev := v.evidence(id)
			if rs := roles[id]; len(rs) > 0 {
				ev.Step = strings.Join(rs, ", ")
			}
			e.Evidence = append(e.Evidence, ev)
		}
		ex.Instances = append(ex.Instances, e)
	}
	return ex
}

// rolesOf maps each record to "step/role" labels.
func rolesOf(inst *saga.Instance) map[record.ID][]string {
	out := map[record.ID][]string{}
	add := func(name string, ev []saga.Evidence) {
		for _, e := range ev {
			l := name + "/" + e.Role.String()
			if !slices.Contains(out[e.Record], l) {
				out[e.Record] = append(out[e.Record], l)
			}
		}
	}
	for _, s := range inst.Steps {
		add(s.Name, s.Evidence)
	}
	names := make([]string, 0, len(inst.CompEvidence))
	for n := range inst.CompEvidence {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		add(n, inst.CompEvidence[n])
	}
	return out
}

func clock(s string) string {
	if s == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return t.Format("2006-01-02 15:04:05")
}

// shortState drops the compensation_ prefix in the step table.
func shortState(s string) string {
	return strings.TrimPrefix(s, "compensation_")
}

// WriteExplanation writes the explanation for a terminal.
func WriteExplanation(w io.Writer, ex *Explanation) error {
	noun := strings.TrimSuffix(ex.RootType, "_id")
	for n, e := range ex.Instances {
		if n > 0 {
			fmt.Fprintln(w)
		}
		if e.Orphan {
			fmt.Fprintf(w, "%s: records that link to no %s (orphans)\n", e.Root, ex.RootType)
		} else {
			head := fmt.Sprintf("%s %s  outcome: %s", noun, e.Root, e.Outcome)
			if e.NeedsAttention {
				head += "  needs attention"
			}
			fmt.Fprintln(w, head)
			if len(e.Roots) > 1 {
				fmt.Fprintf(w, "  links several %s values: %s\n", ex.RootType, strings.Join(e.Roots, ", "))
			}
			if e.Note != "" {
				fmt.Fprintf(w, "  (%s)\n", e.Note)
			}
			if !e.InWindow {
				fmt.Fprintln(w, "  started before the run's window: shown, not judged")
			}
			t := table(w, false, "#", "step", "state", "at", "evidence", "note")
			stepIndex := map[string]int{}
			for i, s := range e.Steps {
				stepIndex[s.Name] = i + 1
				row(t, false, fmt.Sprint(i+1), s.Name, s.State, clock(s.At), orDash(evidenceLabel(e, s.Evidence), "-"), attempts(s)+s.Note)
			}
			for _, c := range e.Compensations {
				row(t, false, fmt.Sprintf("C%d", stepIndex[c.For]), c.Name, shortState(c.State), clock(c.At), orDash(evidenceLabel(e, c.Evidence), "-"), c.Note)
			}
			if err := t.Render(); err != nil {
				return err
			}
		}
		fmt.Fprintln(w, "\nEvidence, in time order:")
		t := table(w, false, "time", "at", "kind", "status", "amount", "evidence of", "keys")
		for _, ev := range e.Evidence {
			amount := ""
			if ev.Amount != nil {
				amount = money.String(*ev.Amount, ev.Currency)
			}
			row(t, false, clock(ev.Time), ev.At, ev.Kind, ev.Status, amount, orDash(ev.Step, "-"), keyList(ev, ex.RootType))
		}
		if err := t.Render(); err != nil {
			return err
		}
		for _, re := range e.RuleErrors {
			fmt.Fprintf(w, "\ninvariant not evaluated: %s\n", re)
		}
		if len(e.Findings) == 0 {
			fmt.Fprintln(w, "\nNo findings.")
			continue
		}
		fmt.Fprintln(w, "\nFindings:")
		t = table(w, false, "severity", "code", "step", "explanation", "id")
		for _, f := range e.Findings {
			row(t, false, f.Severity, f.Code, orDash(f.Step, "-"), f.Message, f.ID)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	return nil
}

func attempts(s Step) string {
	if s.Attempts <= 1 {
		return ""
	}
	if s.Note == "" {
		return fmt.Sprintf("%d attempts", s.Attempts)
	}
	return fmt.Sprintf("%d attempts; ", s.Attempts)
}

// evidenceLabel shows a deciding record's provenance with a short detail:
// its error class, or a key other than the root.
func evidenceLabel(e Explained, at string) string {
	if at == "" {
		return ""
	}
	for _, ev := range e.Evidence {
		if ev.At != at {
			continue
		}
		if c := ev.Attrs["error_class"]; c != "" {
			return fmt.Sprintf("%s (%s)", at, c)
		}
		return at
	}
	return at
}

func keyList(ev Evidence, root string) string {
	keys := make([]string, 0, len(ev.Keys))
	for k, v := range ev.Keys {
		if k == root {
			continue
		}
		keys = append(keys, k+"="+v)
	}
	slices.Sort(keys)
	return strings.Join(keys, " ")
}
