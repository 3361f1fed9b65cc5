package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/rules"
	"github.com/vitals-dev/vitals/saga"
)

// refunds plans the money compensation comp (a refund) of the units in set;
// all is every unit the step produced. It keeps the money safety rules:
// never more back than was captured, per unit and per instance, counting
// compensations made or pending; a pending compensation gets no second
// one; a unit the step's authority does not confirm is never refunded.
func (d *draft) refunds(s *rules.Step, comp string, set, all []*unit, cs *compSet, refs []*saga.Finding, why, because string) error {
	m := d.b.m
	who := s.Authority
	if who == "" {
		who = "the system of record"
	}
	before := len(d.actions)
	reviewed := false
	review := func(reason string) {
		reviewed = true
		for _, f := range refs {
			d.review(f, reason)
		}
	}
	// A pending compensation that names no unit could be on any of them:
	// ask first, refund nothing.
	if len(cs.pending) > 0 {
		for _, p := range cs.pending {
			d.add(&Action{Action: QueryProvider, Step: s.Name, phase: phaseQuery, stepIdx: s.Index,
				Target: Target{Type: p.typ, ID: p.id},
				Reason: fmt.Sprintf("a %s for %s %s is pending since %s (%s) and names no %s: ask %s for its state; nothing more is refunded until it is settled",
					comp, label(m.Root, ""), d.in.Root, stamp(p.at), p.prov, label(TargetKeys[comp], m.Root), who),
				Evidence: []string{p.prov},
			}, refs...)
		}
		return nil
	}
	if cs.unsure != "" {
		review(cs.unsure + ": count what was already refunded by hand")
		return nil
	}
	// A unit with more back than it captured says the compensation records
	// cannot be counted on (one counted twice, or money sent twice): what
	// the others may still get back is unknown.
	for _, u := range all {
		if u.hasAmount && u.back() > u.amount {
			what := label(u.ttype, m.Root) + " " + u.target
			review(fmt.Sprintf("%s shows %s back or on its way back, of %s captured: a %s may be counted twice, or more went back than came in; settle it by hand, nothing more is refunded",
				what, money(u.back(), u.currency), money(u.amount, u.currency), comp))
			return nil
		}
	}
	// What the set may still get back in all, net of refunds that name no
	// unit (they may have been on any of these). Only units that may be
	// refunded count: one the authority does not confirm may never have
	// been captured, so it makes no room.
	head := map[string]int64{}
	for _, u := range set {
		if u.confirmed && u.hasAmount && u.unsure == "" && len(u.pending) == 0 {
			head[u.currency] += max(u.remaining(), 0)
		}
	}
	for cur, n := range cs.refunded {
		head[cur] -= n
	}
	var nothing []string
	for _, u := range set {
		what := label(u.ttype, m.Root) + " " + u.target
		switch {
		case !u.confirmed && s.Authority == "":
			review(fmt.Sprintf("the sources disagree whether %s was captured, and %s names no authority to decide: confirm it was captured before any %s", what, s.Name, comp))
		case !u.confirmed:
			review(fmt.Sprintf("%s is reported only by %s, and %s has no record of it: confirm it was captured before any %s", what, d.sources(u.recs), who, comp))
		case !u.hasAmount:
			review(fmt.Sprintf("the amount captured by %s is unknown: settle it by hand", what))
		case u.unsure != "":
			review(u.unsure + ": count what was already refunded on " + what + " by hand")
		case len(u.pending) > 0:
			for _, p := range u.pending {
				t := Target{Type: p.typ, ID: p.id}
				d.add(&Action{Action: QueryProvider, Step: s.Name, phase: phaseQuery, stepIdx: s.Index, Target: t,
					Reason: fmt.Sprintf("a %s of %s is pending since %s (%s): ask %s for its state; a pending %s never gets a second one",
						comp, what, stamp(p.at), p.prov, who, comp),
					Evidence: []string{p.prov},
				}, refs...)
			}
		default:
			rem := u.remaining()
			amt := min(rem, head[u.currency])
			if amt <= 0 {
				if rem <= 0 {
					nothing = append(nothing, fmt.Sprintf("%s: captured %s, %s already back", what, money(u.amount, u.currency), money(u.amount-rem, u.currency)))
				} else {
					nothing = append(nothing, fmt.Sprintf("%s: refunds that name no %s already cover it", what, label(u.ttype, m.Root)))
				}
				continue
			}
			head[u.currency] -= amt
			d.add(d.moneyAction(s, comp, u, amt, rem, cs, why, because), refs...)
		}
	}
	if len(d.actions) == before && !reviewed {
		review(fmt.Sprintf("nothing is left to %s (%s): check why the finding persists", strings.ReplaceAll(comp, "_", " "), strings.Join(nothing, "; ")))
	}
	return d.checkMoney(s, comp, all, cs)
}

// moneyAction builds a refund of amt on unit u (rem is what u has left).
func (d *draft) moneyAction(s *rules.Step, comp string, u *unit, amt, rem int64, cs *compSet, why, because string) *Action {
	m := d.b.m
	what := label(u.ttype, m.Root) + " " + u.target
	a := &Action{Action: comp, Step: s.Name, phase: phaseCompensate, stepIdx: s.Index,
		Target: d.target(u), Amount: &amt, Currency: u.currency, Evidence: d.provs(u.recs)}
	a.Preconditions = append(a.Preconditions, fmt.Sprintf("%s is still captured: %s", what, money(u.amount, u.currency)))
	if u.refunded == 0 {
		a.Preconditions = append(a.Preconditions, fmt.Sprintf("no %s of %s is done or pending", comp, what))
	} else {
		a.Preconditions = append(a.Preconditions, fmt.Sprintf("%s on %s total exactly %s so far, and none is pending", comp, what, money(u.refunded, u.currency)))
	}
	if len(u.failed) > 0 {
		a.Preconditions = append(a.Preconditions, fmt.Sprintf("the earlier %s (%s) failed and was not retried", comp, strings.Join(u.failed, ", ")))
	}
	var others []string
	for _, cur := range sortedKeys(cs.refunded) {
		others = append(others, money(cs.refunded[cur], cur))
	}
	unnamed := strings.Join(others, ", ")
	if len(others) > 0 {
		a.Preconditions = append(a.Preconditions, fmt.Sprintf("%s records of %s %s that name no %s still total %s", comp, label(m.Root, ""), d.in.Root, label(u.ttype, m.Root), unnamed))
	}
	if why != "" {
		a.Preconditions = append(a.Preconditions, why)
	}
	switch {
	case amt == u.amount:
		a.Reason = fmt.Sprintf("%s %s in full (%s): %s", verb(comp), what, money(amt, u.currency), because)
	case amt == rem:
		a.Reason = fmt.Sprintf("%s the remaining %s of %s on %s (%s already back): %s", verb(comp), money(amt, u.currency), money(u.amount, u.currency), what, money(u.refunded, u.currency), because)
	default:
		a.Reason = fmt.Sprintf("%s %s of %s on %s, no more: %s already went back for %s %s without naming a %s; %s",
			verb(comp), money(amt, u.currency), money(u.amount, u.currency), what, unnamed, label(m.Root, ""), d.in.Root, label(u.ttype, m.Root), because)
	}
	return a
}

// checkMoney is the last guard: with the planned actions, no unit and no
// currency of the instance gets back more than was captured.
func (d *draft) checkMoney(s *rules.Step, comp string, all []*unit, cs *compSet) error {
	m := d.b.m
	planned := map[string]int64{}    // by target
	plannedCur := map[string]int64{} // by currency
	for _, a := range d.actions {
		if a.Action == comp && a.Step == s.Name && a.Amount != nil {
			planned[a.Target.ID] += *a.Amount
			plannedCur[a.Currency] += *a.Amount
		}
	}
	in, out := map[string]int64{}, map[string]int64{}
	for _, u := range all {
		if !u.hasAmount {
			continue
		}
		back := u.back() + planned[u.target]
		if planned[u.target] > 0 && back > u.amount {
			return fmt.Errorf("internal error: %s %s would get back %s of %s captured; the plan is refused", label(u.ttype, m.Root), u.target, money(back, u.currency), money(u.amount, u.currency))
		}
		in[u.currency] += u.amount
		out[u.currency] += back
	}
	for cur, n := range cs.refunded {
		out[cur] += n
	}
	for _, p := range cs.pending {
		out[p.currency] += p.amount
	}
	for cur, n := range out {
		if plannedCur[cur] > 0 && n > in[cur] {
			return fmt.Errorf("internal error: %s %s would get back %s of %s captured; the plan is refused", label(m.Root, ""), d.in.Root, money(n, cur), money(in[cur], cur))
		}
	}
	return nil
}

// doubleCaptures plans, for an instance that goes on (not being undone),
// the refund of every extra capture, keeping the one the order refers to.
func (d *draft) doubleCaptures() error {
	m := d.b.m
	for _, f := range d.in.Findings {
		if d.handled[f.ID] || f.Code != saga.DoubleCapture {
			continue
		}
		s := m.StepByName(f.Step)
		sr := d.in.Step(f.Step)
		if s == nil || sr == nil || s.Comp == nil {
			d.review(f, f.Message+": the process declares no compensation for it; settle it by hand")
			continue
		}
		units, tkey := d.units(s, sr, s.Comp.Name)
		if len(units) < 2 || !slices.ContainsFunc(units, func(u *unit) bool { return u.hasAmount }) {
			d.review(f, f.Message+": the evidence does not show the charges apart; settle it by hand")
			continue
		}
		kept, how, named := d.referenced(s, units)
		if kept == nil {
			d.review(f, f.Message+": "+how)
			continue
		}
		if replay := d.laterReplay(s); !named && replay != nil {
			// The replayed message makes what the order refers to.
			d.review(f, fmt.Sprintf("%s: no record of the order names a charge yet, and %s %s is planned, which decides the charge the order keeps: refund the extra one after it (re-run vitals plan)", f.Message, replay.Action, replay.Target))
			continue
		}
		cs := d.comps(s, s.Comp.Name, units, tkey)
		what := label(kept.ttype, m.Root) + " " + kept.target
		if kept.refunded > 0 || len(kept.pending) > 0 {
			d.review(f, f.Message+": the charge the order keeps, "+what+", has refunds of its own; settle it by hand")
			continue
		}
		if kept.unsure != "" {
			d.review(f, f.Message+": the charge the order keeps, "+what+", may have a refund of its own ("+kept.unsure+"); settle it by hand")
			continue
		}
		var extras []*unit
		for _, u := range units {
			if u != kept {
				extras = append(extras, u)
			}
		}
		root := label(m.Root, m.Root)
		why := fmt.Sprintf("%s %s still keeps %s (and no other charge)", root, d.in.Root, what)
		because := fmt.Sprintf("an extra capture; %s %s keeps %s (%s)", root, d.in.Root, what, how)
		if err := d.refunds(s, s.Comp.Name, extras, units, cs, []*saga.Finding{f}, why, because); err != nil {
			return err
		}
	}
	return nil
}

// laterReplay returns a planned replay of a step after s, or nil.
func (d *draft) laterReplay(s *rules.Step) *Action {
	for _, a := range d.actions {
		if a.Action == ReplayDeadLetter && a.stepIdx > s.Index {
			return a
		}
	}
	return nil
}

// referenced finds the unit the rest of the instance refers to: the charge
// whose keys appear on the evidence of later steps (the order row, an
// OrderCreated event). named says a record names it; otherwise it is the
// first attempt's, of charges all equal.
func (d *draft) referenced(s *rules.Step, units []*unit) (*unit, string, bool) {
	b := d.b
	type ref struct {
		t    int
		v    string
		prov string
	}
	var refs []ref
	for i := s.Index + 1; i < len(d.in.Steps); i++ {
		for _, e := range d.in.Steps[i].Evidence {
			if e.Role != saga.RoleSucceeded {
				continue
			}
			b.st.Get(e.Record, &b.rec)
			prov := b.rec.Prov.String()
			b.st.KeyValues(e.Record, func(t int, v string) {
				if b.links[t] && t != b.m.RootType && t != b.m.DeliveryType {
					refs = append(refs, ref{t, v, prov})
				}
			})
		}
	}
	var hits []*unit
	var by string
	for _, u := range units {
		hit := ""
		for _, id := range u.recs {
			b.st.KeyValues(id, func(t int, v string) {
				if !b.links[t] {
					return
				}
				for _, r := range refs {
					if hit == "" && r.t == t && r.v == v {
						hit = fmt.Sprintf("%s names %s %s", r.prov, b.m.KeyTypes[t], v)
					}
				}
			})
		}
		if hit != "" {
			hits = append(hits, u)
			by = hit
		}
	}
	who := s.Authority
	if who == "" {
		who = "the system of record"
	}
	switch {
	case len(hits) == 1 && !hits[0].confirmed:
		// Keeping a charge that may not exist would refund every real one.
		return nil, fmt.Sprintf("%s, which %s has no record of: decide by hand which charge the order keeps", by, who), true
	case len(hits) == 1:
		return hits[0], by, true
	case len(hits) > 1:
		return nil, "the order refers to several of the charges: decide by hand which one it keeps", true
	}
	for _, r := range refs {
		if units[0].ttype != "" && b.m.KeyTypes[r.t] == units[0].ttype {
			return nil, fmt.Sprintf("%s names %s %s, which is none of the captured ones: decide by hand which one it keeps", r.prov, b.m.KeyTypes[r.t], r.v), true
		}
	}
	first, tie := units[0], false
	for _, u := range units[1:] {
		if !u.hasAmount || !first.hasAmount || u.amount != first.amount || u.currency != first.currency {
			return nil, "no record of the order names a charge, and the charges differ: decide by hand which one it keeps", false
		}
		switch {
		case u.start.Before(first.start) || u.start.Equal(first.start) && u.at.Before(first.at):
			first, tie = u, false
		case u.start.Equal(first.start) && u.at.Equal(first.at):
			tie = true
		}
	}
	if tie {
		// Which came first would be the export's row order: not a reason
		// to keep one charge and refund another.
		return nil, fmt.Sprintf("no record of the order names a charge, and two attempts began and were captured at the same moment (%s): decide by hand which one it keeps", stamp(first.start)), false
	}
	if !first.confirmed {
		return nil, fmt.Sprintf("no record of the order names a charge, and the first attempt's, %s %s, is one %s has no record of: decide by hand which one it keeps", label(first.ttype, b.m.Root), first.target, who), false
	}
	return first, fmt.Sprintf("no record of the order names a charge; all are %s, so the one of the first attempt (begun %s) is kept", money(first.amount, first.currency), stamp(first.start)), false
}

func (d *draft) sources(ids []record.ID) string {
	var out []string
	for _, id := range ids {
		if s := d.b.st.Source(id); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// label names a key type for people: charge_id -> charge.
func label(ttype, root string) string {
	if ttype == "" {
		ttype = root
	}
	return strings.TrimSuffix(ttype, "_id")
}

func verb(comp string) string {
	if comp == RefundPayment {
		return "refund"
	}
	return strings.ReplaceAll(comp, "_", " ") + " of"
}

func money(n int64, cur string) string { return rules.FormatMoney(n, cur) }

func sortedKeys(m map[string]int64) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
