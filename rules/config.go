// Package rules holds the process model — steps, their evidence matchers,
// SLAs and compensations, and business invariants — compiled from config,
// and the saga rules that turn an inferred instance into findings.
package rules

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
)

// Config declares one process.
type Config struct {
	Name string `mapstructure:"name"`
	// Root is the key type that names an instance (e.g. order_id).
	Root string `mapstructure:"root"`
	// DeliveryKey is the key type that identifies one delivered event (e.g.
	// event_id); the same value seen twice is a duplicate delivery.
	DeliveryKey   string               `mapstructure:"delivery_key"`
	Steps         []StepConfig         `mapstructure:"steps"`
	Compensations []CompensationConfig `mapstructure:"compensations"`
	Invariants    []InvariantConfig    `mapstructure:"invariants"`
	Orphans       OrphanConfig         `mapstructure:"orphans"`
}

// StepConfig declares one forward step. Matchers are expressions over a
// record: kind, status, source, amount, currency, time, keys.<type>,
// attrs.<name>.
type StepConfig struct {
	Name      string   `mapstructure:"name"`
	Requested string   `mapstructure:"requested"`
	Succeeded string   `mapstructure:"succeeded"`
	Failed    string   `mapstructure:"failed"`
	Unknown   string   `mapstructure:"unknown"`
	SLA       Duration `mapstructure:"sla"`
	// AttemptKey groups evidence into attempts (e.g. idempotency_key):
	// sources must agree per attempt, and retries with the same key are one.
	AttemptKey string `mapstructure:"attempt_key"`
	// Authority is the source whose word wins when sources disagree (the
	// state stays conflicting, but compensation follows the authority).
	Authority    string `mapstructure:"authority"`
	Compensation string `mapstructure:"compensation"`
	// Idempotent says replaying this step's messages is safe.
	Idempotent bool `mapstructure:"idempotent"`
	// Retriable marks a step after the saga's pivot: its failures are
	// retried, never compensated, so a failed attempt leaves it pending
	// (overdue past its SLA) instead of failing the instance.
	Retriable bool `mapstructure:"retriable"`
	// Uncompensated and Skipped replace the generic code of the missing-
	// compensation and skipped-step rules for this step.
	Uncompensated *Override `mapstructure:"uncompensated"`
	Skipped       *Override `mapstructure:"skipped"`
}

// Override names the code and severity a generic rule reports for one step.
type Override struct {
	Code     string `mapstructure:"code"`
	Severity string `mapstructure:"severity"`
}

// CompensationConfig declares a compensation: the step that undoes another.
type CompensationConfig struct {
	Name      string   `mapstructure:"name"`
	Requested string   `mapstructure:"requested"`
	Succeeded string   `mapstructure:"succeeded"`
	Failed    string   `mapstructure:"failed"`
	SLA       Duration `mapstructure:"sla"`
}

// InvariantConfig declares a business rule that must hold for every judged
// instance. Expressions see root, outcome, records, by_kind.<kind>,
// steps.<name> (state, attempts, requested, succeeded, failed, unknown,
// evidence) and vars.<name>.
type InvariantConfig struct {
	Code     string `mapstructure:"code"`
	Severity string `mapstructure:"severity"`
	Step     string `mapstructure:"step"`
	// Vars are named expressions evaluated first (they cannot refer to
	// each other).
	Vars map[string]string `mapstructure:"vars"`
	// When limits the instances the invariant applies to (default: all).
	When string `mapstructure:"when"`
	// Expr must be true; a false value is a finding.
	Expr string `mapstructure:"expr"`
	// Message is a one-line explanation; {{ expr }} parts are evaluated.
	Message string `mapstructure:"message"`
	// Evidence is an expression giving the records to cite (default: the
	// step's evidence).
	Evidence string `mapstructure:"evidence"`
}

// OrphanConfig sets how records that link to no instance are reported.
type OrphanConfig struct {
	Severity string           `mapstructure:"severity"`
	ByKind   []OrphanKindRule `mapstructure:"by_kind"`
	// Ignore lists kinds that are expected to stand alone (never flagged).
	Ignore []string `mapstructure:"ignore"`
}

// OrphanKindRule gives orphans of some kinds their own severity.
type OrphanKindRule struct {
	Kinds    []string `mapstructure:"kinds"`
	Severity string   `mapstructure:"severity"`
}

// Duration is a time.Duration that also reads days ("3d") from config.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration reads "15m", "72h", "3d", "1d12h".
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var days time.Duration
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil {
			return 0, fmt.Errorf("duration %q: use forms like 15m, 72h, 3d", s)
		}
		days = time.Duration(n) * 24 * time.Hour
		s = s[i+1:]
		if s == "" {
			return Duration(days), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("duration %q: use forms like 15m, 72h, 3d", s)
	}
	return Duration(days + d), nil
}

// DurationHook decodes Duration values from strings.
func DurationHook() mapstructure.DecodeHookFunc {
	dt := reflect.TypeOf(Duration(0))
	return func(from, to reflect.Type, data any) (any, error) {
		if to != dt {
			return data, nil
		}
		switch v := data.(type) {
		case string:
			return ParseDuration(v)
		case int:
			if v == 0 {
				return Duration(0), nil
			}
		}
		return nil, fmt.Errorf("duration %v: write it as a string such as 15m, 72h or 3d", data)
	}
}
