package rules

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/saga"
)

// Model is a compiled process.
type Model struct {
	Name         string
	Root         string
	RootType     int // index into KeyTypes
	DeliveryType int // -1 if none
	KeyTypes     []string
	Steps        []*Step
	Comps        []*Comp
	Invariants   []*Invariant

	needs *envNeeds    // what invariants read of an instance
	vars  []*sharedVar // distinct variable expressions of all invariants

	orphanSeverity saga.Severity
	orphanByKind   map[string]saga.Severity
	orphanIgnore   map[string]bool
}

// Step is a compiled forward step.
type Step struct {
	Index       int
	Name        string
	match       [4]*Matcher // by saga.Role
	SLA         time.Duration
	AttemptType int // key type index, -1 if none
	Authority   string
	Comp        *Comp
	Idempotent  bool
	Retriable   bool

	UncompCode saga.Code
	UncompSev  saga.Severity
	SkipCode   saga.Code
	SkipSev    saga.Severity
}

// Comp is a compiled compensation.
type Comp struct {
	Index int
	Name  string
	For   *Step
	match [3]*Matcher // requested, succeeded, failed
	SLA   time.Duration
}

// OutcomeKinds returns the kinds that can carry the step's outcome
// (succeeded, failed, unknown); any=true when not known statically.
func (s *Step) OutcomeKinds() (kinds []string, any bool) {
	ks := kindSet{}
	for _, r := range []saga.Role{saga.RoleSucceeded, saga.RoleFailed, saga.RoleUnknown} {
		if m := s.match[r]; m != nil {
			ks = ks.union(m.kinds)
		}
	}
	return ks.kinds, ks.any
}

// EvidenceKinds returns the kinds that can be any evidence of the step.
func (s *Step) EvidenceKinds() (kinds []string, any bool) {
	ks := kindSet{}
	for _, m := range s.match {
		if m != nil {
			ks = ks.union(m.kinds)
		}
	}
	return ks.kinds, ks.any
}

// EvidenceKinds returns the kinds that can be evidence of the compensation.
func (c *Comp) EvidenceKinds() (kinds []string, any bool) {
	ks := kindSet{}
	for _, m := range c.match {
		if m != nil {
			ks = ks.union(m.kinds)
		}
	}
	return ks.kinds, ks.any
}

// Compile checks a process config against the declared key types and
// compiles its expressions. It does no I/O. Errors name the config path.
func Compile(c Config, keyTypes []string) (*Model, error) {
	m := &Model{Name: c.Name, Root: c.Root, KeyTypes: keyTypes, DeliveryType: -1}
	if c.Name == "" {
		return nil, errors.New("process.name: required (e.g. checkout)")
	}
	m.RootType = slices.Index(keyTypes, c.Root)
	if c.Root == "" || m.RootType < 0 {
		return nil, fmt.Errorf("process.root: %q is not a declared key type (declared: %s)", c.Root, strings.Join(keyTypes, ", "))
	}
	if c.DeliveryKey != "" {
		m.DeliveryType = slices.Index(keyTypes, c.DeliveryKey)
		if m.DeliveryType < 0 {
			return nil, fmt.Errorf("process.delivery_key: %q is not a declared key type", c.DeliveryKey)
		}
	}
	if len(c.Steps) == 0 {
		return nil, errors.New("process.steps: at least one step is required")
	}
	names := map[string]string{}
	for i, sc := range c.Compensations {
		path := fmt.Sprintf("process.compensations[%d]", i)
		if sc.Name == "" {
			return nil, fmt.Errorf("%s.name: required", path)
		}
		if prev, dup := names[sc.Name]; dup {
			return nil, fmt.Errorf("%s.name: %q is already used by %s", path, sc.Name, prev)
		}
		names[sc.Name] = path
		comp := &Comp{Index: i, Name: sc.Name, SLA: sc.SLA.D()}
		for role, src := range []string{sc.Requested, sc.Succeeded, sc.Failed} {
			where := fmt.Sprintf("%s.%s", path, saga.Role(role))
			mm, err := compileMatcher(src, where)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			comp.match[role] = mm
		}
		if comp.match[saga.RoleSucceeded] == nil {
			return nil, fmt.Errorf("%s.succeeded: required (the evidence that it was done)", path)
		}
		m.Comps = append(m.Comps, comp)
	}
	for i, sc := range c.Steps {
		path := fmt.Sprintf("process.steps[%d]", i)
		if sc.Name == "" {
			return nil, fmt.Errorf("%s.name: required", path)
		}
		if prev, dup := names[sc.Name]; dup {
			return nil, fmt.Errorf("%s.name: %q is already used by %s", path, sc.Name, prev)
		}
		names[sc.Name] = path
		st := &Step{Index: i, Name: sc.Name, SLA: sc.SLA.D(), AttemptType: -1, Authority: sc.Authority, Idempotent: sc.Idempotent, Retriable: sc.Retriable}
		for role, src := range []string{sc.Requested, sc.Succeeded, sc.Failed, sc.Unknown} {
			where := fmt.Sprintf("%s.%s", path, saga.Role(role))
			mm, err := compileMatcher(src, where)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			st.match[role] = mm
		}
		if st.match[saga.RoleSucceeded] == nil {
			return nil, fmt.Errorf("%s.succeeded: required (the evidence that the step was done)", path)
		}
		if st.SLA <= 0 {
			return nil, fmt.Errorf("%s.sla: required (how long the step may stay pending, e.g. 10m)", path)
		}
		if sc.AttemptKey != "" {
			st.AttemptType = slices.Index(keyTypes, sc.AttemptKey)
			if st.AttemptType < 0 {
				return nil, fmt.Errorf("%s.attempt_key: %q is not a declared key type", path, sc.AttemptKey)
			}
		}
		if sc.Compensation != "" && sc.Retriable {
			return nil, fmt.Errorf("%s: a retriable step is never compensated; drop compensation or retriable", path)
		}
		if sc.Compensation != "" {
			idx := slices.IndexFunc(m.Comps, func(c *Comp) bool { return c.Name == sc.Compensation })
			if idx < 0 {
				return nil, fmt.Errorf("%s.compensation: %q is not declared under process.compensations", path, sc.Compensation)
			}
			if m.Comps[idx].For != nil {
				return nil, fmt.Errorf("%s.compensation: %q already compensates %s", path, sc.Compensation, m.Comps[idx].For.Name)
			}
			st.Comp = m.Comps[idx]
			st.Comp.For = st
			if st.Comp.SLA <= 0 {
				return nil, fmt.Errorf("process.compensations[%d].sla: required (how long after the failure it may take)", idx)
			}
		}
		var err error
		if st.UncompCode, st.UncompSev, err = override(sc.Uncompensated, saga.CompensationMissing); err != nil {
			return nil, fmt.Errorf("%s.uncompensated: %w", path, err)
		}
		if sc.Uncompensated != nil && st.Comp == nil {
			return nil, fmt.Errorf("%s.uncompensated: the step has no compensation", path)
		}
		if st.SkipCode, st.SkipSev, err = override(sc.Skipped, saga.StepSkipped); err != nil {
			return nil, fmt.Errorf("%s.skipped: %w", path, err)
		}
		m.Steps = append(m.Steps, st)
	}
	for _, comp := range m.Comps {
		if comp.For == nil {
			return nil, fmt.Errorf("process.compensations[%d]: %q compensates no step; name it in a step's compensation", comp.Index, comp.Name)
		}
	}
	seen := map[string]bool{}
	for i, ic := range c.Invariants {
		path := fmt.Sprintf("process.invariants[%d]", i)
		inv, err := compileInvariant(ic, m)
		if err != nil {
			return nil, fmt.Errorf("%s.%w", path, err)
		}
		id := string(inv.Code) + "/" + inv.Step
		if seen[id] {
			return nil, fmt.Errorf("%s: another invariant already reports %s on step %q; give them different steps or codes", path, inv.Code, inv.Step)
		}
		seen[id] = true
		m.Invariants = append(m.Invariants, inv)
	}
	var err error
	m.orphanSeverity = saga.DefaultSeverity(saga.OrphanRecord)
	if c.Orphans.Severity != "" {
		if m.orphanSeverity, err = saga.ParseSeverity(c.Orphans.Severity); err != nil {
			return nil, fmt.Errorf("process.orphans.severity: %w", err)
		}
	}
	m.orphanByKind = map[string]saga.Severity{}
	for i, r := range c.Orphans.ByKind {
		sev, err := saga.ParseSeverity(r.Severity)
		if err != nil {
			return nil, fmt.Errorf("process.orphans.by_kind[%d].severity: %w", i, err)
		}
		for _, k := range r.Kinds {
			m.orphanByKind[k] = sev
		}
	}
	m.orphanIgnore = map[string]bool{}
	for _, k := range c.Orphans.Ignore {
		m.orphanIgnore[k] = true
	}
	return m, nil
}

func override(o *Override, def saga.Code) (saga.Code, saga.Severity, error) {
	if o == nil {
		return def, saga.DefaultSeverity(def), nil
	}
	code := saga.Code(o.Code)
	if o.Code == "" {
		code = def
	}
	if !saga.Known(code) {
		return "", 0, fmt.Errorf("code %q is not in the vocabulary (%s)", o.Code, strings.Join(saga.CodeNames(), ", "))
	}
	sev := saga.DefaultSeverity(code)
	if o.Severity != "" {
		var err error
		if sev, err = saga.ParseSeverity(o.Severity); err != nil {
			return "", 0, err
		}
	}
	return code, sev, nil
}

// OrphanSeverity returns the severity of an orphan of this kind, and false
// when orphans of this kind are not reported.
func (m *Model) OrphanSeverity(kind string) (saga.Severity, bool) {
	if m.orphanIgnore[kind] {
		return 0, false
	}
	if s, ok := m.orphanByKind[kind]; ok {
		return s, true
	}
	return m.orphanSeverity, true
}

// StepByName returns the named step, or nil.
func (m *Model) StepByName(name string) *Step {
	for _, s := range m.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}
