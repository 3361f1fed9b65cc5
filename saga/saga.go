// Package saga holds the vocabulary vitals speaks: step states, instance
// outcomes, severities, finding codes, and the shapes of an inferred
// instance and of a finding. It has no logic beyond naming and ordering.
package saga

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/record"
)

// State is the state of one step of one instance.
type State string

// Forward step states.
const (
	NotSeen     State = "not_seen"    // no evidence
	Requested   State = "requested"   // started, no outcome yet, within SLA (or beyond coverage)
	Overdue     State = "overdue"     // requested and past its SLA
	Succeeded   State = "succeeded"   //
	Failed      State = "failed"      // every attempt failed
	Conflicting State = "conflicting" // sources disagree about the outcome
	Unknown     State = "unknown"     // the outcome cannot be known from the evidence
)

// Compensation states.
const (
	CompensationRequired State = "compensation_required" // needed, not started
	Compensating         State = "compensating"          // requested, no outcome yet
	CompensationStalled  State = "compensation_stalled"  // requested, past its SLA
	Compensated          State = "compensated"
	CompensationFailed   State = "compensation_failed"
	CompensationUnknown  State = "compensation_unknown" // the step's own outcome is unknown
)

// States lists every step and compensation state.
var States = []State{NotSeen, Requested, Overdue, Succeeded, Failed, Conflicting, Unknown,
	CompensationRequired, Compensating, CompensationStalled, Compensated, CompensationFailed, CompensationUnknown}

// Outcome is where an instance as a whole stands.
type Outcome string

const (
	Completed           Outcome = "completed"
	CompensatedOutcome  Outcome = "compensated"
	InFlight            Outcome = "in_flight"
	Stalled             Outcome = "stalled"
	FailedUncompensated Outcome = "failed_uncompensated"
	CompensationFailedO Outcome = "compensation_failed"
	Ambiguous           Outcome = "ambiguous"
)

// Outcomes lists every outcome in report order.
var Outcomes = []Outcome{Completed, CompensatedOutcome, InFlight, Stalled, FailedUncompensated, CompensationFailedO, Ambiguous}

// Final reports whether the outcome is a final state of the process.
func (o Outcome) Final() bool { return o == Completed || o == CompensatedOutcome }

// Role is what a record is evidence of for a step.
type Role uint8

const (
	RoleRequested Role = iota
	RoleSucceeded
	RoleFailed
	RoleUnknown
)

func (r Role) String() string {
	return [...]string{"requested", "succeeded", "failed", "unknown"}[r]
}

// Evidence is one record supporting a step's state.
type Evidence struct {
	Record record.ID
	Role   Role
}

// StepResult is the inferred state of one step.
type StepResult struct {
	Name     string
	State    State
	Attempts int
	// At is when the deciding evidence happened (zero if none).
	At time.Time
	// Deadline is when a pending step becomes overdue (zero if not pending).
	Deadline time.Time
	Evidence []Evidence
	// Note explains the state in a few words where evidence alone does not:
	// "timeout, no provider record", "provider covers until 11:55".
	Note string
	// Effective is the state compensation logic acts on: for a conflicting
	// step with an authority, the authority's verdict.
	Effective State
	// UnknownAttempts lists the attempts (AttemptName of their key) whose
	// outcome is unknown although the step as a whole is decided.
	UnknownAttempts []string
	// Divergent lists the attempts (AttemptName of their key) on which
	// sources disagree.
	Divergent []string
	// Skipped: a later step went ahead although this one has no evidence
	// (in sources that covered the time) or failed.
	Skipped bool
	// Duplicates are records ignored as repeated deliveries of others.
	Duplicates []record.ID
}

// AttemptName names the attempt of an attempt key value: the value, or
// "(no attempt key)" for evidence without one.
func AttemptName(key string) string {
	if key == "" {
		return "(no attempt key)"
	}
	return key
}

// CompResult is the state of the compensation of one step.
type CompResult struct {
	Name     string // the compensation, e.g. refund_payment
	For      string // the step it undoes, e.g. capture_payment
	State    State
	At       time.Time
	Deadline time.Time
	Evidence []Evidence
	Note     string
	// Late: required and not done by its deadline, in sources that covered it.
	Late bool
}

// Instance is one business process instance rebuilt from evidence.
type Instance struct {
	Process string
	// Root is the root key value that names the instance (the smallest when
	// records link several).
	Root  string
	Roots []string
	Start time.Time
	Last  time.Time
	// InWindow is false for instances that started before the run's window:
	// they are shown on request but not judged.
	InWindow       bool
	Outcome        Outcome
	NeedsAttention bool
	// Note explains the outcome where it is not obvious.
	Note          string
	Steps         []StepResult
	Compensations []CompResult // in the order they must run (reverse step order)
	// CompEvidence holds all evidence of each compensation by name, needed or not.
	CompEvidence map[string][]Evidence
	Records      []record.ID // time-ordered
	Findings     []*Finding
	// Orphan: the records link to no root key.
	Orphan bool
	// InGrace: younger than the grace period, so never flagged.
	InGrace bool
	// Aborted: the instance failed at FailedStep (at FailedAt) or began
	// compensating; its succeeded steps must be compensated.
	Aborted    bool
	FailedStep string
	FailedAt   time.Time
	// Deliveries are the groups of records that are one event delivered
	// more than once (same delivery key, source and kind), in time order.
	Deliveries [][]record.ID
	// RuleErrors are invariants that could not be evaluated on this
	// instance (an expression error on its data); the others still were.
	RuleErrors []string
	// StepFailed: FailedStep failed; otherwise the instance stopped before
	// it and began compensating at FailedAt.
	StepFailed bool
}

// Step returns the named step's result, or nil.
func (in *Instance) Step(name string) *StepResult {
	for i := range in.Steps {
		if in.Steps[i].Name == name {
			return &in.Steps[i]
		}
	}
	return nil
}

// Finding is one rule violation on one instance, or one orphan.
type Finding struct {
	ID       string
	Code     Code
	Severity Severity
	Process  string
	Root     string // instance root, or the orphan's first key
	Step     string
	// Subject distinguishes findings of one code on one step: the attempt
	// key, event id or charge it is about. Part of the ID.
	Subject  string
	Message  string
	Evidence []record.ID
}

// FindingID is the stable id of a finding: the same problem gets the same
// id on every run.
func FindingID(code Code, process, root, step, subject string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{string(code), process, root, step, subject}, "\x00")))
	return "f_" + hex.EncodeToString(h[:8])
}

// NewFinding builds a finding with its id.
func NewFinding(code Code, sev Severity, process, root, step, subject, msg string, evidence []record.ID) *Finding {
	return &Finding{
		ID:       FindingID(code, process, root, step, subject),
		Code:     code,
		Severity: sev,
		Process:  process,
		Root:     root,
		Step:     step,
		Subject:  subject,
		Message:  msg,
		Evidence: evidence,
	}
}

// Severity orders findings: Critical is highest.
type Severity int

const (
	Info Severity = iota + 1
	Low
	Medium
	High
	Critical
)

var severityNames = map[Severity]string{Info: "info", Low: "low", Medium: "medium", High: "high", Critical: "critical"}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	for k, v := range severityNames {
		if v == strings.ToLower(s) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q: use critical, high, medium, low or info", s)
}

// MarshalText writes the name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
