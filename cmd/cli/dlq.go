package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/dlq"
	"github.com/vitals-dev/vitals/report"
)

type dlqOptions struct {
	run    runFlags
	format string
}

func newDLQCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &dlqOptions{}
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "Triage dead letters: resolved, replay, compensate or manual, and why",
		Long: `dlq joins every dead-lettered message to its instance and step and gives a
verdict: resolved (its effect happened later: safe to drop), replay (the effect is
missing, the instance is still consistent and the step is idempotent), compensate
(replaying would now do harm) or manual (cannot be decided from the evidence), with
the reason in one line, and a summary by error class. Replay verdicts appear in
vitals plan as replay_dead_letter actions.`,
		Example: `  vitals dlq
  vitals dlq --format json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDLQ(cmd.Context(), o, stdout, stderr)
		},
	}
	o.run.bind(cmd)
	cmd.Flags().StringVarP(&o.format, "format", "f", "table", "output format: table or json")
	return cmd
}

func runDLQ(ctx context.Context, o *dlqOptions, stdout, stderr io.Writer) error {
	format, err := report.ParseFormat(o.format)
	if err != nil || format == report.FormatMarkdown {
		return usagef("--format %q: use table or json", o.format)
	}
	_, res, err := o.run.load(ctx, stderr)
	if err != nil {
		return err
	}
	t, err := dlq.Build(ctx, res)
	if err != nil {
		return err
	}
	if err := report.WriteDLQ(stdout, t, format); err != nil {
		return err
	}
	return res.Failed()
}
