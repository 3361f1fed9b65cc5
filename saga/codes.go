package saga

import "sort"

// Code names a kind of finding. The vocabulary is fixed and documented;
// processes may reuse codes for their invariants.
type Code string

const (
	CapturedWithoutOrder Code = "CAPTURED_WITHOUT_ORDER"
	DoubleCapture        Code = "DOUBLE_CAPTURE"
	AmountMismatch       Code = "AMOUNT_MISMATCH"
	OrderWithoutPayment  Code = "ORDER_WITHOUT_PAYMENT"
	OutcomeUnknown       Code = "OUTCOME_UNKNOWN"
	StatusDivergence     Code = "STATUS_DIVERGENCE"
	StepOverdue          Code = "STEP_OVERDUE"
	StepSkipped          Code = "STEP_SKIPPED"
	CompensationMissing  Code = "COMPENSATION_MISSING"
	CompensationStalledC Code = "COMPENSATION_STALLED"
	CompensationFailedC  Code = "COMPENSATION_FAILED"
	OverCompensation     Code = "OVER_COMPENSATION"
	UnresolvedDeadLetter Code = "UNRESOLVED_DEAD_LETTER"
	OrphanRecord         Code = "ORPHAN_RECORD"
	DuplicateDelivery    Code = "DUPLICATE_DELIVERY"
	AmbiguousLink        Code = "AMBIGUOUS_LINK"
)

// CodeInfo documents a code.
type CodeInfo struct {
	Code     Code
	Severity Severity // default
	Meaning  string
	// Source says where findings of this code come from: a generic saga rule,
	// or an invariant declared in the process config.
	Source string
}

// Codes is the documented vocabulary, in the order of DESIGN.md.
var Codes = []CodeInfo{
	{CapturedWithoutOrder, Critical, "money taken, but the order was never created or failed, and no refund", "rule: compensation (step override)"},
	{DoubleCapture, Critical, "more than one successful capture for one instance (distinct charges)", "invariant"},
	{AmountMismatch, High, "captured / invoiced amount differs from the order total beyond tolerance", "invariant"},
	{OrderWithoutPayment, Critical, "order confirmed but no successful capture exists", "rule: skipped step (step override)"},
	{OutcomeUnknown, High, "a step's outcome cannot be known (timeout, no provider record); never retry blindly", "rule: step state"},
	{StatusDivergence, High, "two sources disagree about the same step", "rule: step state"},
	{StepOverdue, Medium, "a step is pending past its SLA (the instance is stalled)", "rule: SLA"},
	{StepSkipped, High, "a later step has evidence but a required earlier step has none", "rule: order"},
	{CompensationMissing, High, "the instance failed and a succeeded step was never compensated", "rule: compensation"},
	{CompensationStalledC, Medium, "a compensation was requested and never completed within its SLA", "rule: compensation"},
	{CompensationFailedC, High, "a compensation was attempted and failed", "rule: compensation"},
	{OverCompensation, Critical, "refunded more than captured, or released more than reserved", "invariant"},
	{UnresolvedDeadLetter, High, "a dead-lettered message whose business effect never happened later", "rule: dead letters"},
	{OrphanRecord, Medium, "a record that links to no instance", "rule: correlation"},
	{DuplicateDelivery, Info, "the same event delivered more than once (info: idempotency working)", "rule: delivery key"},
	{AmbiguousLink, High, "records link several root keys into one instance; judge it by hand", "rule: correlation"},
}

// Known reports whether c is in the vocabulary.
func Known(c Code) bool {
	for _, i := range Codes {
		if i.Code == c {
			return true
		}
	}
	return false
}

// DefaultSeverity returns a code's documented severity.
func DefaultSeverity(c Code) Severity {
	for _, i := range Codes {
		if i.Code == c {
			return i.Severity
		}
	}
	return Medium
}

// CodeNames returns the codes, sorted.
func CodeNames() []string {
	var out []string
	for _, i := range Codes {
		out = append(out, string(i.Code))
	}
	sort.Strings(out)
	return out
}

// CodeMeaning returns a code's documented meaning.
func CodeMeaning(c Code) string {
	for _, i := range Codes {
		if i.Code == c {
			return i.Meaning
		}
	}
	return string(c)
}
