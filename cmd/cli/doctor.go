package cli

import (
	"context"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/doctor"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/sources/all"
)

type doctorOptions struct {
	run     runFlags
	samples int
	only    []string
}

func newDoctorCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check each source: connection, records in the window, sample records, mapping errors",
		Long: `doctor checks every configured source before a real run: whether it connects,
how many records it reads and how many fall in the window, a few mapped records
(masked attributes hidden), and the input its mapping rejects, with locations.
It exits 3 when any source fails to connect or read, 0 otherwise.`,
		Example: `  vitals doctor --config configs/checkout-pg-kafka.yaml
  vitals doctor --source shopdb --samples 10`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), o, stdout)
		},
	}
	o.run.bind(cmd)
	f := cmd.Flags()
	f.IntVar(&o.samples, "samples", 3, "mapped records to show per source")
	f.StringSliceVar(&o.only, "source", nil, "check only this source (repeatable)")
	return cmd
}

func runDoctor(ctx context.Context, o *doctorOptions, stdout io.Writer) error {
	if o.samples < 0 {
		return usagef("--samples: must not be negative")
	}
	cfg, err := o.run.loadConfig()
	if err != nil {
		return err
	}
	in, err := reconcile.Setup(cfg, all.Registry(), time.Now())
	if err != nil {
		return err
	}
	results, err := doctor.Run(ctx, in, doctor.Options{Samples: max(o.samples, 0), Only: o.only})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return usagef("--source: %v", err)
	}
	if err := doctor.Write(stdout, in, results); err != nil {
		return err
	}
	return doctor.Failed(results, o.run.strict)
}
