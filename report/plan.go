package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/plan"
)

// FormatCSV is the plan's spreadsheet form.
const FormatCSV Format = "csv"

// ParsePlanFormat reads a plan --format value: table, json or csv.
func ParsePlanFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatTable, FormatJSON, FormatCSV:
		return Format(s), nil
	}
	return "", fmt.Errorf("unknown format %q: use table, json or csv", s)
}

// WritePlan renders a plan as a table for reviewers, JSON or CSV.
func WritePlan(w io.Writer, p *plan.Plan, f Format) error {
	switch f {
	case FormatJSON:
		return WriteJSON(w, p)
	case FormatCSV:
		return writePlanCSV(w, p)
	}
	return writePlanTable(w, p)
}

func amountText(a *plan.Action) string {
	switch {
	case a.Amount != nil:
		return money.String(*a.Amount, a.Currency)
	case a.Quantity != nil:
		return fmt.Sprintf("%d × %s", *a.Quantity, orDash(a.Unit, "?"))
	}
	return "-"
}

func writePlanTable(w io.Writer, p *plan.Plan) error {
	fmt.Fprintf(w, "vitals plan: %s as of %s\n", p.Run.Process, p.Run.AsOf)
	s := p.Summary
	fmt.Fprintf(w, "plan %s: %d action(s) for %d instance(s); they address %d of %d finding(s), %d left without an action\n",
		p.ID, s.Actions, s.Instances, s.Covered, s.Findings, s.Unplanned)
	if !p.Run.Complete {
		fmt.Fprintln(w, "INCOMPLETE: a source failed; this plan may miss evidence (refunds, releases) and must not be executed")
	}
	if p.Run.AfterAsOf > 0 {
		fmt.Fprintf(w, "LATER EVIDENCE: %d record(s) dated after as_of were left out; this plan may miss refunds or releases made since and cannot be emitted: plan again with a later --as-of (e.g. now)\n", p.Run.AfterAsOf)
	}
	if p.Run.BadInput > 0 {
		fmt.Fprintf(w, "BAD INPUT: %d input(s) could not be read (vitals check lists where); this plan may miss evidence (refunds, releases) and cannot be emitted until the input is fixed\n", p.Run.BadInput)
	}
	if len(p.Actions) > 0 {
		fmt.Fprintln(w, "\nActions (in the order to execute them; compensations in reverse step order)")
		t := table(w, false, "#", "action", "root", "target", "amount", "resolves")
		for _, a := range p.Actions {
			var codes []string
			for _, r := range a.Resolves {
				codes = append(codes, r.Code)
			}
			row(t, false, strconv.Itoa(a.Seq), a.Action, a.Root, a.Target.String(), amountText(&a), countCodes(codes))
		}
		if err := t.Render(); err != nil {
			return err
		}
		for _, a := range p.Actions {
			fmt.Fprintf(w, "\n%d. %s %s  (%s %s, step %s)\n", a.Seq, a.Action, a.Target, p.Run.Process, a.Root, orDash(a.Step, "-"))
			fmt.Fprintf(w, "   idempotency key: %s\n", a.IdempotencyKey)
			if txt := amountText(&a); txt != "-" {
				fmt.Fprintf(w, "   amount: %s\n", txt)
			}
			fmt.Fprintf(w, "   why: %s\n", a.Reason)
			if len(a.Preconditions) > 0 {
				fmt.Fprintln(w, "   check just before executing:")
				for _, c := range a.Preconditions {
					fmt.Fprintf(w, "     - %s\n", c)
				}
			}
			for _, r := range a.Resolves {
				fmt.Fprintf(w, "   resolves: %s %s\n", r.ID, r.Code)
			}
			if len(a.Evidence) > 0 {
				fmt.Fprintf(w, "   evidence: %s\n", strings.Join(a.Evidence, ", "))
			}
		}
	}
	if len(p.Totals) > 0 {
		fmt.Fprintln(w, "\nTotals")
		t := table(w, false, "action", "currency", "actions", "amount")
		for _, tot := range p.Totals {
			row(t, false, tot.Action, tot.Currency, strconv.Itoa(tot.Count), money.String(tot.Amount, tot.Currency))
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if len(p.Unplanned) > 0 {
		fmt.Fprintln(w, "\nFindings left without an action")
		t := table(w, false, "severity", "code", "root", "step", "why")
		for _, u := range p.Unplanned {
			row(t, false, u.Severity, u.Code, u.Root, orDash(u.Step, "-"), u.Reason)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	fmt.Fprintln(w)
	if len(p.Actions) == 0 {
		fmt.Fprintln(w, "Nothing to do.")
		return nil
	}
	rerun := p.Rerun
	if rerun == "" {
		rerun = "vitals plan"
	}
	fmt.Fprintf(w, "Dry run: nothing was sent. To publish these %d action(s) as commands once reviewed:\n  %s --emit-topic TOPIC --confirm %s\n", len(p.Actions), rerun, p.ID)
	return nil
}

// PlanCSVHeader is the CSV form's header row.
var PlanCSVHeader = []string{"plan_id", "seq", "action", "idempotency_key", "process", "root", "step",
	"target_type", "target_id", "amount", "amount_decimal", "currency", "quantity", "unit",
	"resolves", "preconditions", "reason", "evidence"}

func writePlanCSV(w io.Writer, p *plan.Plan) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(PlanCSVHeader); err != nil {
		return err
	}
	for _, a := range p.Actions {
		amount, dec, qty := "", "", ""
		if a.Amount != nil {
			amount = strconv.FormatInt(*a.Amount, 10)
			dec = strings.TrimSuffix(money.String(*a.Amount, a.Currency), " "+a.Currency)
		}
		if a.Quantity != nil {
			qty = strconv.FormatInt(*a.Quantity, 10)
		}
		var res []string
		for _, r := range a.Resolves {
			res = append(res, r.ID+":"+r.Code)
		}
		err := cw.Write([]string{p.ID, strconv.Itoa(a.Seq), a.Action, a.IdempotencyKey, a.Process, a.Root, a.Step,
			a.Target.Type, a.Target.ID, amount, dec, a.Currency, qty, a.Unit,
			strings.Join(res, " "), strings.Join(a.Preconditions, " | "), a.Reason, strings.Join(a.Evidence, " ")})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteDLQ renders a dead-letter triage as a table or JSON.
func WriteDLQ(w io.Writer, t *dlq.Triaged, f Format) error {
	if f == FormatJSON {
		return WriteJSON(w, t)
	}
	fmt.Fprintf(w, "vitals dlq: %s as of %s\n", t.Run.Process, t.Run.AsOf)
	var parts []string
	for _, v := range dlq.Verdicts {
		parts = append(parts, fmt.Sprintf("%s %d", v, t.Summary.ByVerdict[string(v)]))
	}
	fmt.Fprintf(w, "%d dead letter(s): %s", t.Summary.Letters, strings.Join(parts, ", "))
	if t.Summary.NotJudged > 0 {
		fmt.Fprintf(w, "; %d more in instances this run does not judge", t.Summary.NotJudged)
	}
	fmt.Fprintln(w)
	if !t.Run.Complete {
		fmt.Fprintln(w, "INCOMPLETE: a source failed; verdicts may miss evidence")
	}
	if len(t.Letters) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nDead letters")
	tb := table(w, false, "dead letter", "root", "step", "original", "error", "verdict", "reason")
	for _, l := range t.Letters {
		orig := "-"
		if l.Original != nil {
			orig = l.Original.String()
		}
		row(tb, false, l.At, l.Root, orDash(l.Step, "-"), orig, orDash(l.ErrorClass, "-"), string(l.Verdict), l.Reason)
	}
	if err := tb.Render(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nBy error class")
	tb = table(w, false, "error class", "count", "first seen", "last seen", "verdicts", "example")
	for _, c := range t.Classes {
		var vs []string
		for _, v := range dlq.Verdicts {
			if n := c.ByVerdict[string(v)]; n > 0 {
				vs = append(vs, fmt.Sprintf("%s %d", v, n))
			}
		}
		ex := c.Example.At + " (" + c.Example.Root + ")"
		if c.Example.Message != "" {
			ex += ": " + c.Example.Message
		}
		row(tb, false, c.Class, strconv.Itoa(c.Count), ts(c.FirstSeen), ts(c.LastSeen), strings.Join(vs, ", "), ex)
	}
	if err := tb.Render(); err != nil {
		return err
	}
	if t.Summary.ByVerdict[string(dlq.Replay)] > 0 {
		fmt.Fprintln(w, "\n`vitals plan` turns each replay verdict into a replay_dead_letter action.")
	}
	return nil
}
