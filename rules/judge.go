package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr/vm"

	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/record"
	"github.com/vitals-dev/vitals/saga"
)

// Judger judges instances; each goroutine uses its own, as it reuses the
// memory of the invariant environment from one instance to the next.
type Judger struct {
	m  *Model
	st *record.Store
	vm vm.VM // reused: running a program allocates nothing new
	// fast is the state of the fast path (fast.go); never nil: lazy
	// record views are loaded through it before anything else reads them.
	fast *fastCtx
	// pool builds the environment conditions are evaluated in: only the
	// keys they name. full builds one with every key and attribute, for
	// the message of a violated invariant, which may print whole records.
	pool, full envPool
	rec        record.Record
	// keyMask: the key types invariants read (a bit per store key type)
	keyMask uint64
	// needKind: the kinds invariants read from by_kind, indexed by
	// symbol (a slice: it is looked up for every record);
	// needStep: per step, then per compensation, whether they read it;
	// needRoles: which of its lists (envNeeds.stepFields).
	needKind  []bool
	needStep  []bool
	needRoles []uint8
	// dead is the symbol of the dead letter kind once the store has it:
	// an interned symbol never changes, and looking it up for every
	// instance took a read lock shared by all the judging goroutines.
	dead    record.Sym
	hasDead bool
	// Partial, when set, names a source producing records of the kinds
	// invariant i reads (Invariant.ReadsKinds) that read an instance
	// starting at start only in part — it failed, or covers only from after
	// start — or returns "": the invariant is not judged on the instance,
	// so records a source did not read are not taken for absent ones
	// (comparing refunds with charges half read would invent an
	// over-refund).
	Partial func(i int, start time.Time) string
}

// envPool holds an instance environment and the views it is built from,
// reused from one instance to the next.
type envPool struct {
	views []*RecordView
	steps []*StepView
	env   InstanceEnv
	vars  varCache
	rec   record.Record
	built []builtView
	// kindBuf holds the lists of by_kind, by kind symbol, for reuse.
	kindBuf [][]*RecordView
	// nv views are built for this instance; lazy: some may hold only
	// their kind and ID until load decodes the record, with st, keyMask
	// and attrs, into the maps of keys and attributes maps[nmaps].
	nv, nmaps int
	lazy      bool
	maps      [][2]map[string]string
	st        *record.Store
	keyMask   uint64
	attrs     bool
}

// lazyRecords is the size of the largest instance whose views are built
// lazily: finding the kind of a step's evidence searches the instance's
// records.
const lazyRecords = 32

// load decodes the record of view v (v.ID) into it.
func (p *envPool) load(v *RecordView) {
	if p.nmaps == len(p.maps) {
		p.maps = append(p.maps, [2]map[string]string{{}, {}})
	}
	m := p.maps[p.nmaps]
	p.nmaps++
	// fillEnv reads no provenance but the source: GetValues skips the rest.
	p.st.GetValues(v.ID, &p.rec, p.keyMask, p.attrs)
	v.Keys, v.Attrs = m[0], m[1] // fillEnv clears and fills them
	fillEnv(&v.RecordEnv, &p.rec, p.keyMask != 0, p.attrs)
}

// loadAll loads every view of the instance not loaded yet.
func (p *envPool) loadAll() {
	for _, v := range p.views[:p.nv] {
		if v.Keys == nil {
			p.load(v)
		}
	}
}

type builtView struct {
	id record.ID
	v  *RecordView
}

// Judger returns a judger of instances whose records are in st.
func (m *Model) Judger(st *record.Store) *Judger {
	jr := &Judger{m: m, st: st, fast: &fastCtx{}}
	for _, p := range []*envPool{&jr.pool, &jr.full} {
		p.env = InstanceEnv{ByKind: map[string][]*RecordView{}, Steps: map[string]*StepView{}}
	}
	if n := m.needs; n != nil {
		jr.keyMask = n.keyTypes(st.KeyTypes())
		for k := range n.kinds {
			if sym, ok := st.Sym(k); ok {
				if int(sym) >= len(jr.needKind) {
					jr.needKind = append(jr.needKind, make([]bool, int(sym)+1-len(jr.needKind))...)
				}
				jr.needKind[sym] = true
			}
		}
		for _, s := range m.Steps {
			jr.needStep = append(jr.needStep, n.allSteps || n.steps[s.Name])
			jr.needRoles = append(jr.needRoles, n.roles(s.Name))
		}
		for _, c := range m.Comps {
			jr.needStep = append(jr.needStep, n.allSteps || n.steps[c.Name])
			jr.needRoles = append(jr.needRoles, n.roles(c.Name))
		}
	}
	return jr
}

// Judge returns the findings of one instance: the generic saga rules
// (order, SLA, compensation, dead letters, duplicates, linking) and the
// process's invariants. Instances outside the window or within grace get
// none. kinds are the kinds of in.Records, as the caller has read them
// already (nil: they are read here).
func (jr *Judger) Judge(in *saga.Instance, kinds []record.Sym) []*saga.Finding {
	m, st := jr.m, jr.st
	if !in.InWindow || in.InGrace {
		return nil
	}
	if len(kinds) != len(in.Records) {
		kinds = nil
	}
	j := judge{m: m, st: st, in: in, jr: jr, rec: &jr.rec, kinds: kinds}
	if in.Orphan {
		j.orphan()
		return j.out
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
	return j.out
}

type judge struct {
	m   *Model
	st  *record.Store
	in  *saga.Instance
	jr  *Judger
	out []*saga.Finding
	rec *record.Record // the Judger's, reused
	// kinds, when set, are the kinds of in.Records, read by the caller.
	kinds []record.Sym
}

// kind returns the kind of in.Records[i].
func (j *judge) kind(i int) record.Sym {
	if j.kinds != nil {
		return j.kinds[i]
	}
	_, kind, _ := j.st.Sig(j.in.Records[i])
	return kind
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
	var byAttempt map[string][]record.ID // evidence by attempt name, read once
	if len(r.UnknownAttempts) > 0 {
		byAttempt = map[string][]record.ID{}
		for _, e := range r.Evidence {
			name := ""
			if s.AttemptType >= 0 {
				v, _ := j.st.KeyOf(e.Record, s.AttemptType)
				name = saga.AttemptName(v)
			}
			byAttempt[name] = append(byAttempt[name], e.Record)
		}
	}
	for _, a := range r.UnknownAttempts {
		ev := byAttempt[a]
		if s.AttemptType < 0 {
			ev = byAttempt[""]
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

// amountOf describes the money a step moved: " (45.99 EUR)", from its
// first success that carries an amount (two sources reporting one
// capture report one amount).
func (j *judge) amountOf(r *saga.StepResult) string {
	for _, e := range r.Evidence {
		if e.Role != saga.RoleSucceeded {
			continue
		}
		j.st.Get(e.Record, j.rec)
		if j.rec.HasAmount {
			return " (" + money.String(j.rec.Amount, j.rec.Currency) + ")"
		}
	}
	return ""
}

// deadLetters flags dead letters whose step never succeeded.
func (j *judge) deadLetters() {
	jr := j.jr
	if !jr.hasDead {
		if jr.dead, jr.hasDead = j.st.Sym(record.KindDeadLetter); !jr.hasDead {
			return
		}
	}
	dead := jr.dead
	// The first step each dead letter is evidence of (-1: none), found in
	// one pass over the steps' evidence.
	var stepOf map[record.ID]int
	for i, id := range j.in.Records {
		if j.kind(i) == dead {
			if stepOf == nil {
				stepOf = map[record.ID]int{}
			}
			stepOf[id] = -1
		}
	}
	if stepOf == nil {
		return
	}
	for i := range j.in.Steps {
		for _, e := range j.in.Steps[i].Evidence {
			if s, ok := stepOf[e.Record]; ok && s < 0 {
				stepOf[e.Record] = i
			}
		}
	}
	for _, id := range j.in.Records {
		i, ok := stepOf[id]
		if !ok {
			continue
		}
		step := ""
		var sr *saga.StepResult
		if i >= 0 {
			sr = &j.in.Steps[i]
			step = sr.Name
		}
		if sr != nil && sr.Effective == saga.Succeeded {
			continue // reprocessed: its effect happened
		}
		j.st.Get(id, j.rec)
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

// duplicates reports events delivered more than once by one source.
func (j *judge) duplicates() {
	if len(j.in.Deliveries) == 0 {
		return
	}
	dups := slices.Clone(j.in.Deliveries)
	value := func(g []record.ID) string {
		v, _ := j.st.KeyOf(g[0], j.m.DeliveryType)
		return v
	}
	sort.Slice(dups, func(a, b int) bool { return value(dups[a]) < value(dups[b]) })
	for _, g := range dups {
		var where []string
		for _, id := range g {
			j.st.Get(id, j.rec)
			where = append(where, j.rec.Prov.String())
		}
		j.st.Get(g[0], j.rec)
		v := value(g)
		j.add(saga.DuplicateDelivery, saga.DefaultSeverity(saga.DuplicateDelivery), "", v,
			fmt.Sprintf("%s %s delivered %d times (%s); counted once", j.rec.Kind, v, len(g), strings.Join(where, ", ")), g)
	}
}

func (j *judge) orphan() {
	first := j.in.Records[0]
	j.st.Get(first, j.rec)
	sev, report := j.m.OrphanSeverity(j.rec.Kind)
	if !report {
		return
	}
	var msg string
	switch n := len(j.in.Records); {
	case len(j.rec.Keys) == 0 && n == 1:
		msg = fmt.Sprintf("%s at %s carries no key at all, so it links to nothing: is its key field empty?", j.rec.Kind, j.rec.Prov)
	case n == 1:
		msg = fmt.Sprintf("%s %s (%s) links to no %s", j.rec.Kind, j.in.Root, j.rec.Prov, j.m.Root)
	default:
		msg = fmt.Sprintf("%s %s (%s) and %d record(s) linked to it link to no %s", j.rec.Kind, j.in.Root, j.rec.Prov, n-1, j.m.Root)
	}
	j.add(saga.OrphanRecord, sev, "", "", msg, j.in.Records)
}

// invariants checks the process's invariants. One that cannot be
// evaluated on this instance's data is recorded on the instance and the
// others still run: one odd instance must not stop a nightly audit.
func (j *judge) invariants() {
	if len(j.m.Invariants) == 0 {
		return
	}
	jr, needs := j.jr, j.m.needs
	env := j.env(&jr.pool, jr.keyMask, needs.attrs, jr.needRoles)
	jr.fast.lazy = nil
	if jr.pool.lazy {
		jr.fast.lazy = &jr.pool
	}
	jr.pool.vars.reset(len(j.m.vars))
	var full *InstanceEnv // built when an invariant is violated
	for i, inv := range j.m.Invariants {
		if jr.Partial != nil && jr.Partial(i, j.in.Start) != "" {
			continue
		}
		bad, err := inv.violated(j.m, env, &jr.pool.vars, &jr.vm, jr.fast)
		var msg string
		var ev []record.ID
		if err == nil && bad {
			if full == nil {
				full = j.env(&jr.full, record.AllKeys, true, nil)
				jr.full.vars.reset(len(j.m.vars))
			}
			msg, ev, err = inv.explain(j.m, full, &jr.full.vars, &jr.vm)
		}
		if err != nil {
			j.in.RuleErrors = append(j.in.RuleErrors, fmt.Sprintf("process.invariants[%d] (%s): %v", i, inv.Code, err))
			continue
		}
		if bad {
			j.add(inv.Code, inv.Severity, inv.Step, "", msg, ev)
		}
	}
}

// env builds what invariants see of the instance in pool p: only the
// records and steps they read, with the keys in keyMask and the
// attributes if attrs. roles, when set, holds per step (then per
// compensation) the lists of records to fill (envNeeds.stepFields): a
// record in none of them is not read, and so not decoded. nil fills all,
// for the messages and evidence of a violated invariant.
func (j *judge) env(p *envPool, keyMask uint64, attrs bool, roles []uint8) *InstanceEnv {
	jr, needs := j.jr, j.m.needs
	env := &p.env
	env.Root, env.Outcome, env.Records = j.in.Root, string(j.in.Outcome), env.Records[:0]
	// env.Vars is set before anything reads it (Invariant.setVars).
	clear(env.ByKind)
	clear(env.Steps)
	p.st, p.keyMask, p.attrs, p.nv, p.nmaps = j.st, keyMask, attrs, 0, 0
	// In the env the fast path runs in, a small instance's views are
	// built with only their kind, known from inference, and decoded
	// when a program reads more of them (fastCtx.lazy): most steps'
	// evidence is read only to filter it by kind, and decoding a record
	// (a random access into the store) is most of building a view.
	p.lazy = roles != nil && j.kinds != nil && len(j.in.Records) <= lazyRecords
	// view builds the view of the record id, in.Records[i] (i < 0: not
	// known).
	view := func(id record.ID, i int) *RecordView {
		if p.nv == len(p.views) {
			p.views = append(p.views, &RecordView{})
		}
		v := p.views[p.nv]
		p.nv++
		if p.lazy {
			if i < 0 {
				i = slices.Index(j.in.Records, id)
			}
			if i >= 0 {
				*v = RecordView{RecordEnv: RecordEnv{Kind: j.st.SymName(j.kinds[i])}, ID: id}
				return v
			}
		}
		v.ID = id
		p.load(v)
		return v
	}
	// The views built so far: few per instance, so a list searched from
	// its end (evidence of one step comes together) beats a map.
	p.built = p.built[:0]
	var built map[record.ID]*RecordView // for the rare large instance
	get := func(id record.ID, at int) *RecordView {
		if built != nil {
			if v, ok := built[id]; ok {
				return v
			}
			v := view(id, at)
			built[id] = v
			return v
		}
		for i := len(p.built) - 1; i >= 0; i-- {
			if p.built[i].id == id {
				return p.built[i].v
			}
		}
		v := view(id, at)
		p.built = append(p.built, builtView{id, v})
		if len(p.built) > 32 {
			built = make(map[record.ID]*RecordView, 2*len(p.built))
			for _, b := range p.built {
				built[b.id] = b.v
			}
		}
		return v
	}
	if needs.allRecords {
		for i, id := range j.in.Records {
			v := get(id, i)
			env.Records = append(env.Records, v)
			env.ByKind[v.Kind] = append(env.ByKind[v.Kind], v)
		}
	} else if len(needs.kinds) > 0 {
		if len(p.kindBuf) < len(jr.needKind) {
			p.kindBuf = make([][]*RecordView, len(jr.needKind))
		}
		for i, id := range j.in.Records {
			if k := j.kind(i); int(k) < len(jr.needKind) && jr.needKind[k] {
				v := get(id, i)
				// The list of a kind reuses the memory of the last
				// instance's: nothing keeps an instance's env after it
				// is judged.
				l, ok := env.ByKind[v.Kind]
				if !ok {
					l = p.kindBuf[k][:0]
				}
				l = append(l, v)
				env.ByKind[v.Kind], p.kindBuf[k] = l, l
			}
		}
	}
	ns := 0
	stepView := func(i int, name, state string, attempts int, ev []saga.Evidence, dups []record.ID) {
		if !jr.needStep[i] {
			return
		}
		if ns == len(p.steps) {
			p.steps = append(p.steps, &StepView{})
		}
		sv := p.steps[ns]
		ns++
		*sv = StepView{State: state, Attempts: attempts,
			Requested: sv.Requested[:0], Succeeded: sv.Succeeded[:0], Failed: sv.Failed[:0], Unknown: sv.Unknown[:0], Evidence: sv.Evidence[:0]}
		want := uint8(allFields)
		if roles != nil {
			want = roles[i]
		}
		var dup map[record.ID]bool // repeated deliveries are left out
		for _, id := range dups {
			if dup == nil {
				dup = make(map[record.ID]bool, len(dups))
			}
			dup[id] = true
		}
		for _, e := range ev {
			if want&(fieldEvidence|1<<e.Role) == 0 || dup[e.Record] {
				continue
			}
			v := get(e.Record, -1)
			if want&fieldEvidence != 0 {
				sv.Evidence = append(sv.Evidence, v)
			}
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
		env.Steps[name] = sv
	}
	for i := range j.in.Steps {
		s := &j.in.Steps[i]
		stepView(i, s.Name, string(s.State), s.Attempts, s.Evidence, s.Duplicates)
	}
	for ci, c := range j.m.Comps {
		if !jr.needStep[len(j.m.Steps)+ci] {
			continue
		}
		state := saga.State("not_needed")
		for _, cr := range j.in.Compensations {
			if cr.Name == c.Name {
				state = cr.State
			}
		}
		stepView(len(j.m.Steps)+ci, c.Name, string(state), 0, j.in.CompEvidence[c.Name], nil)
	}
	return env
}
