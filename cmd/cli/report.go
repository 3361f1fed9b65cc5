package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
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
	report reportFlags
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
	o.report.bind(cmd, "json")
	return cmd
}

func runMerge(ctx context.Context, o *mergeOptions, paths []string, stdout, stderr io.Writer) error {
	if err := o.report.parse(); err != nil {
		return err
	}
	var reps []*report.Report
	for _, p := range paths {
		r, err := report.Load(p)
		if err != nil {
			return usagef("%v", err)
		}
		switch {
		case r.Merged != nil:
			return usagef("merge: %s is already a merged report: give the shards' own reports", p)
		case r.Shard == nil:
			return usagef("merge: %s is not a shard report: write each shard's with vitals check --shard i/n --format json", p)
		}
		reps = append(reps, r)
	}
	rep, err := report.Merge(reps)
	if err != nil {
		return usagef("merge: %v", err)
	}
	if err := o.report.checkBaseline(rep.Run, stderr); err != nil {
		return err
	}
	if err := o.report.finish(ctx, rep, stdout); err != nil {
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
				var in []string
				for k, r := range reps {
					for _, rs := range r.Sources {
						if rs.Name == s.Name && (rs.Error != "" || !rs.Coverage.Complete) {
							in = append(in, fmt.Sprintf("%s (shard %d/%d)", paths[k], r.Shard.Index, r.Shard.Count))
						}
					}
				}
				failed = append(failed, fmt.Errorf("source %q failed in %s (the merged report is incomplete; run that shard again and merge again): %s", s.Name, strings.Join(in, ", "), s.Error))
			}
		}
		return &reconcile.SourceError{Errs: failed}
	}
	return o.report.failOnFindings(rep)
}
