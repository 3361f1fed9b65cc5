package cli

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/report"
)

type listOptions struct {
	run    runFlags
	format string
	filter report.Filter
}

func newListCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List instances by outcome, finding code, step and step state",
		Example: `  vitals list --outcome failed_uncompensated
  vitals list --code DOUBLE_CAPTURE --format json
  vitals list --step capture_payment --state unknown`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), o, stdout, stderr)
		},
	}
	o.run.bind(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "table", "output format: table, json or markdown")
	f.StringVar(&o.filter.Outcome, "outcome", "", "only instances with this outcome")
	f.StringVar(&o.filter.Code, "code", "", "only instances with a finding of this code")
	f.StringVar(&o.filter.Step, "step", "", "with --state: only instances whose step (or compensation) is in that state")
	f.StringVar(&o.filter.State, "state", "", "only instances with a step in this state (not_seen, requested, overdue, succeeded, failed, conflicting, unknown, compensation states)")
	f.BoolVar(&o.filter.NeedsAttention, "needs-attention", false, "only instances that need attention")
	return cmd
}

func runList(ctx context.Context, o *listOptions, stdout, stderr io.Writer) error {
	format, err := report.ParseFormat(o.format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	_, res, err := o.run.load(ctx, stderr)
	if err != nil {
		return err
	}
	if err := o.filter.Validate(res.Model); err != nil {
		return usagef("%v", err)
	}
	items, err := report.List(ctx, res, o.filter)
	if err != nil {
		return err
	}
	if err := report.WriteList(stdout, items, format); err != nil {
		return err
	}
	return res.Failed()
}
