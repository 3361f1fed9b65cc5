package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/saga"
)

// reportFlags are the output flags of the commands that write a report
// (check, report merge): format, file, the alerting threshold, a baseline.
type reportFlags struct {
	format   string
	out      string
	failOn   string
	baseline string

	// set by parse
	fmt       report.Format
	threshold saga.Severity // 0: never fail on findings
	prev      *report.Report
}

func (rf *reportFlags) bind(cmd *cobra.Command, defaultFormat string) {
	f := cmd.Flags()
	f.StringVarP(&rf.format, "format", "f", defaultFormat, "output format: table, json or markdown")
	f.StringVarP(&rf.out, "out", "o", "", "write the report to this file (atomically) instead of stdout")
	f.StringVar(&rf.failOn, "fail-on", "high", "exit 1 when a finding has this severity or higher: critical, high, medium, low, info, or none")
	f.StringVar(&rf.baseline, "baseline", "", "previous JSON report: mark findings new, open or resolved")
}

// parse checks the flags and loads the baseline, before any work is done.
func (rf *reportFlags) parse() error {
	var err error
	if rf.fmt, err = report.ParseFormat(rf.format); err != nil {
		return usagef("--format: %v", err)
	}
	if rf.failOn != "none" {
		if rf.threshold, err = saga.ParseSeverity(rf.failOn); err != nil {
			return usagef("--fail-on: %v (or none)", err)
		}
	}
	if rf.baseline != "" {
		if rf.prev, err = report.LoadBaseline(rf.baseline); err != nil {
			return usagef("--baseline: %v", err)
		}
	}
	return nil
}

// checkBaseline refuses a baseline that cannot be run's (another process,
// a later as_of) and warns when the rules changed since it.
func (rf *reportFlags) checkBaseline(run report.Run, stderr io.Writer) error {
	if rf.prev == nil {
		return nil
	}
	warn, err := report.CheckBaseline(rf.prev, run)
	if err != nil {
		return usagef("--baseline: %v", err)
	}
	if warn != "" {
		fmt.Fprintf(stderr, "vitals: warning: %s\n", warn)
	}
	return nil
}

// finish applies the baseline and writes the report.
func (rf *reportFlags) finish(ctx context.Context, rep *report.Report, stdout io.Writer) error {
	if rf.prev != nil {
		report.ApplyBaseline(rep, rf.prev, rf.baseline)
	}
	return writeReport(ctx, rep, rf.fmt, rf.out, stdout)
}

// failOn returns a findingsError when rep has findings at or above the
// threshold.
func (rf *reportFlags) failOnFindings(rep *report.Report) error {
	if rf.threshold == 0 {
		return nil
	}
	n := 0
	for _, f := range rep.Findings {
		if sev, _ := saga.ParseSeverity(f.Severity); sev >= rf.threshold {
			n++
		}
	}
	if n > 0 {
		return &findingsError{n: n}
	}
	return nil
}
