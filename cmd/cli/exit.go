package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/reconcile"
)

// Exit codes, documented in README.md. This is the only place errors become
// exit codes.
const (
	ExitOK          = 0   // ran; nothing at or above --fail-on
	ExitFindings    = 1   // findings at or above --fail-on (explain: key not found)
	ExitUsage       = 2   // usage or config error
	ExitSource      = 3   // a source failed: the report is marked incomplete
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM)
)

// findingsError says the run found problems at or above --fail-on. The
// report already says what they are.
type findingsError struct{ n int }

func (e *findingsError) Error() string {
	return fmt.Sprintf("%d finding(s) at or above --fail-on", e.n)
}

// notFoundError says explain found no instance for a key.
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

// usageError is a bad flag or argument.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return &usageError{err: fmt.Errorf(format, args...)} }

// exitCode maps an error to an exit code and prints it, unless the
// output already says everything (findings).
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var (
		fe *findingsError
		nf *notFoundError
		ue *usageError
		ce *config.Error
		se *reconcile.SourceError
		st *reconcile.StrictError
	)
	switch {
	case errors.As(err, &fe):
		fmt.Fprintf(stderr, "vitals: %v\n", err)
		return ExitFindings
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "vitals: interrupted; no report was written")
		return ExitInterrupted
	case errors.As(err, &nf):
		fmt.Fprintf(stderr, "vitals: %v\n", err)
		return ExitFindings
	case errors.As(err, &ue), errors.As(err, &ce):
		fmt.Fprintf(stderr, "vitals: %v\n", err)
		return ExitUsage
	case errors.As(err, &se), errors.As(err, &st):
		fmt.Fprintf(stderr, "vitals: %v\n", err)
		return ExitSource
	}
	fmt.Fprintf(stderr, "vitals: %v\n", err)
	return ExitSource
}
