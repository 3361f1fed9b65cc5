package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/report"
	"github.com/vitals-dev/vitals/shard"
)

type checkOptions struct {
	run          runFlags
	report       reportFlags
	allInstances bool
	shard        string
}

func newCheckCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Audit every instance in the window and report findings",
		Long: `check reads every configured source, rebuilds each instance, judges it as of
--as-of and reports the findings. The exit code drives alerting: 0 nothing at or
above --fail-on, 1 findings at or above it, 2 usage or config error, 3 a source
failed (the report is marked incomplete), 130 interrupted.`,
		Example: `  vitals check
  vitals check --format json --out report.json --baseline yesterday.json
  vitals check --config prod.yaml --since 24h --as-of now --fail-on critical
  vitals check --shard 2/4 --fail-on none --format json --out shard-2.json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("shard") && o.shard == "" {
				// --shard "$IDX/4" with IDX unset would audit everything.
				return usagef("--shard: empty; give i/n, e.g. 0/4 (is the variable that holds the index unset?)")
			}
			return runCheck(cmd.Context(), o, stdout, stderr)
		},
	}
	o.run.bind(cmd)
	o.report.bind(cmd, "table")
	f := cmd.Flags()
	f.BoolVar(&o.allInstances, "all-instances", false, "list every judged instance in the report, not only those with findings")
	f.StringVar(&o.shard, "shard", "", "audit only shard i of n (i/n, e.g. $JOB_COMPLETION_INDEX/4): the instances whose root key hashes to i; merge the shards' JSON reports with vitals report merge")
	return cmd
}

func runCheck(ctx context.Context, o *checkOptions, stdout, stderr io.Writer) error {
	if o.shard != "" {
		var err error
		if o.run.shard, err = shard.Parse(o.shard); err != nil {
			return usagef("--shard: %v", err)
		}
		if o.report.baseline != "" {
			return usagef("--baseline with --shard: a shard sees only its part, so it would call the other shards' findings resolved; give --baseline to vitals report merge instead")
		}
	}
	if err := o.report.parse(); err != nil {
		return err
	}
	o.run.ready = func(cfg *config.Config, in *reconcile.Input) error {
		return o.report.checkBaseline(report.Run{Process: in.Model.Name, AsOf: in.AsOf.UTC().Format(time.RFC3339Nano), ConfigDigest: cfg.Digest()}, stderr)
	}
	cfg, res, err := o.run.load(ctx, stderr)
	if err != nil {
		return err
	}
	rep, err := report.Build(ctx, res, report.Options{ConfigPath: cfg.Path, ConfigDigest: cfg.Digest(), AllInstances: o.allInstances})
	if err != nil {
		return err
	}
	if err := o.report.finish(ctx, rep, stdout); err != nil {
		return err
	}
	if failed := res.Failed(); failed != nil {
		return failed
	}
	return o.report.failOnFindings(rep)
}

// writeReport writes rep to out (atomically) or to stdout, unless the run
// was interrupted: an interrupted run writes nothing.
func writeReport(ctx context.Context, rep *report.Report, format report.Format, out string, stdout io.Writer) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	write := func(w io.Writer) error { return report.Write(w, rep, format) }
	if out == "" {
		return write(stdout)
	}
	return writeAtomic(out, write)
}

// writeAtomic writes to a temporary file next to path and renames it into
// place, so path is never left half written.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	ok = true
	return nil
}
