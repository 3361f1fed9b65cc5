package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/saga"
)

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Work with JSON reports: merge the reports of a sharded run",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("give a subcommand: vitals report merge SHARD.json... (see vitals report --help)")
		},
	}
	cmd.AddCommand(newMergeCmd(stdout, stderr))
	return cmd
}

type mergeOptions struct {
	format   string
	out      string
	failOn   string
	baseline string
}

func newMergeCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge SHARD.json...",
		Short: "Combine the JSON reports of every shard of a run into the report one run writes",
		Long: `merge reads the JSON reports of shards 0/n to n-1/n of one run (vitals check
--shard i/n --format json) and writes the report a single run writes: the same
findings with the same ids, the same instances and summary. Every shard must be
given once. --baseline and --fail-on apply to the merged report, as check
applies them: exit 1 for findings at or above --fail-on, 3 when a shard's source
failed (the merged report is marked incomplete), 2 for bad or missing reports.`,
		Example: `  vitals report merge shard-*.json --out report.json --baseline yesterday.json`,
		Args:    args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, paths []string) error {
			return runMerge(cmd.Context(), o, paths, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "json", "output format: json, table or markdown")
	f.StringVarP(&o.out, "out", "o", "", "write the merged report to this file (atomically) instead of stdout")
	f.StringVar(&o.failOn, "fail-on", "high", "exit 1 when a finding has this severity or higher: critical, high, medium, low, info, or none")
	f.StringVar(&o.baseline, "baseline", "", "previous JSON report: mark findings new, open or resolved")
	return cmd
}

func runMerge(ctx context.Context, o *mergeOptions, paths []string, stdout, stderr io.Writer) error {
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	threshold, err := parseFailOn(o.failOn)
	if err != nil {
		return err
	}
	var prev *report.Report
	if o.baseline != "" {
		if prev, err = report.LoadBaseline(o.baseline); err != nil {
			return usagef("--baseline: %v", err)
		}
	}
	var reps []*report.Report
	for _, p := range paths {
		r, err := report.Load(p)
		if err != nil {
			return usagef("%v", err)
		}
		reps = append(reps, r)
	}
	rep, err := report.Merge(reps)
	if err != nil {
		return usagef("merge: %v", err)
	}
	if prev != nil {
		report.ApplyBaseline(rep, prev, o.baseline)
	}
	if err := writeReport(ctx, rep, format, o.out, stdout); err != nil {
		return err
	}
	// The JSON report holds them too (merged.warnings); say them where a
	// person or a CI log sees them.
	for _, w := range rep.Merged.Warnings {
		fmt.Fprintf(stderr, "vitals: merge: %s\n", w)
	}
	if !rep.Run.Complete {
		var failed []error
		for _, s := range rep.Sources {
			if s.Error != "" || !s.Coverage.Complete {
				failed = append(failed, fmt.Errorf("source %q failed in a shard (the merged report is incomplete; run that shard again and merge again): %s", s.Name, s.Error))
			}
		}
		return &reconcile.SourceError{Errs: failed}
	}
	return failOnError(rep, threshold)
}

// parseFailOn reads --fail-on: a severity, or none (0: never fail).
func parseFailOn(s string) (saga.Severity, error) {
	if s == "none" {
		return 0, nil
	}
	sev, err := saga.ParseSeverity(s)
	if err != nil {
		return 0, usagef("--fail-on: %v (or none)", err)
	}
	return sev, nil
}

// failOnError returns a findingsError when rep has findings at or above
// threshold (0: never).
func failOnError(rep *report.Report, threshold saga.Severity) error {
	if threshold == 0 {
		return nil
	}
	n := 0
	for _, f := range rep.Findings {
		if sev, _ := saga.ParseSeverity(f.Severity); sev >= threshold {
			n++
		}
	}
	if n > 0 {
		return &findingsError{n: n}
	}
	return nil
}
