// Package cli holds vitals' cobra commands. Each binds its flags into an
// options struct and calls a run function with IO streams; the work is
// done by the library packages.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vitals-dev/vitals/config"
	"github.com/vitals-dev/vitals/reconcile"
	"github.com/vitals-dev/vitals/shard"
	"github.com/vitals-dev/vitals/sources/all"
)

// DefaultConfig is the config used when neither --config nor VITALS_CONFIG
// is given: the bundled checkout demo.
const DefaultConfig = "configs/checkout.yaml"

// Main runs vitals with args and returns the exit code. Ctrl-C and
// SIGTERM cancel the run (exit 130).
func Main(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdout, stderr)
}

// Run runs vitals with args under ctx and returns the exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, prof := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if perr := prof.stop(); perr != nil && err == nil {
		err = perr
	}
	if err != nil && ctx.Err() != nil {
		err = context.Canceled
	}
	var ue *usageError
	if err != nil && !errors.As(err, &ue) && strings.HasPrefix(err.Error(), "unknown command") {
		err = usagef("%v; see vitals --help", err)
	}
	return exitCode(err, stderr)
}

// newRoot builds the command tree.
func newRoot(stdout, stderr io.Writer) (*cobra.Command, *profiler) {
	root := &cobra.Command{
		Use:   "vitals",
		Short: "Rebuild hidden sagas from the evidence your systems leave behind, and audit them",
		Long: `vitals reads what a system without a workflow engine leaves behind (database
rows, payment-provider exports, event streams, dead-letter queues), rebuilds every
business process instance from that evidence, says where each one stands, and flags
the broken and ambiguous ones.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usagef("%v (see %s --help)", err, c.CommandPath())
	})
	root.AddCommand(newCheckCmd(stdout, stderr), newExplainCmd(stdout, stderr), newListCmd(stdout, stderr), newDoctorCmd(stdout, stderr))
	var verbose bool
	var memLimit string
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "log what each phase took to stderr")
	root.PersistentFlags().StringVar(&memLimit, "memory-limit", "", "soft memory limit, e.g. 1GiB or 900MiB: the garbage collector works harder near it (like GOMEMLIMIT)")
	prof := &profiler{}
	root.PersistentFlags().StringVar(&prof.cpu, "cpuprofile", "", "write a CPU profile to this file (go tool pprof)")
	root.PersistentFlags().StringVar(&prof.mem, "memprofile", "", "write a heap profile to this file when the command ends")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		level := slog.LevelWarn
		if verbose {
			level = slog.LevelDebug
		}
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))
		if os.Getenv("GOGC") == "" {
			// Most of what vitals holds is pointer-free (the record store),
			// so a collection costs little and can run more often than
			// Go's default: peak memory falls by a quarter, and with it
			// the time the kernel spends handing out fresh pages.
			debug.SetGCPercent(defaultGCPercent)
		}
		if memLimit != "" {
			n, err := parseBytes(memLimit)
			if err != nil {
				return usagef("--memory-limit: %v", err)
			}
			debug.SetMemoryLimit(n)
		}
		return prof.start()
	}
	// Repair plans and dead-letter triage (plan.go, dlq.go).
	root.AddCommand(newPlanCmd(stdout, stderr), newDLQCmd(stdout, stderr))
	// Sharded runs: vitals report merge (report.go).
	root.AddCommand(newReportCmd(stdout, stderr))
	return root, prof
}

// defaultGCPercent is the garbage collector's target unless GOGC is set.
const defaultGCPercent = 20

// profiler writes the --cpuprofile and --memprofile files.
type profiler struct {
	cpu, mem string
	cpuFile  *os.File
	started  bool
}

func (p *profiler) start() error {
	p.started = true
	if p.cpu == "" {
		return nil
	}
	f, err := os.Create(p.cpu)
	if err != nil {
		return usagef("--cpuprofile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return usagef("--cpuprofile: %v", err)
	}
	p.cpuFile = f
	return nil
}

// stop ends CPU profiling and writes the heap profile, whatever the
// command's outcome.
func (p *profiler) stop() error {
	if p.cpuFile != nil {
		pprof.StopCPUProfile()
		p.cpuFile.Close()
	}
	if !p.started || p.mem == "" {
		return nil
	}
	f, err := os.Create(p.mem)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	defer f.Close()
	runtime.GC()
	return pprof.WriteHeapProfile(f)
}

// runFlags are the flags every auditing command shares.
type runFlags struct {
	config string
	strict bool
	flags  *pflag.FlagSet
	// shard is set by commands that offer --shard.
	shard shard.Spec
	// ready, when set, checks the resolved config before anything is read.
	ready func(cfg *config.Config, in *reconcile.Input) error
}

func (rf *runFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	def := DefaultConfig
	if env := os.Getenv("VITALS_CONFIG"); env != "" {
		def = env
	}
	f.StringVarP(&rf.config, "config", "c", def, "config file (env VITALS_CONFIG)")
	f.String("as-of", "", "judge as of this RFC 3339 time, or now (env VITALS_AS_OF; default: the config's as_of, else now)")
	f.String("since", "", "judge instances started since this time or duration before as-of, e.g. 72h (env VITALS_WINDOW_SINCE)")
	f.String("until", "", "judge instances started before this time (default as-of; env VITALS_WINDOW_UNTIL)")
	f.String("lookback", "", "read this much before --since so earlier evidence still links (env VITALS_WINDOW_LOOKBACK)")
	f.String("grace", "", "instances younger than this are in flight, never flagged (env VITALS_GRACE)")
	f.String("data-dir", "", "directory file sources read from, instead of the config's data_dir (env VITALS_DATA_DIR)")
	f.BoolVar(&rf.strict, "strict", false, "stop at the first bad input (exit 3) instead of counting it")
	rf.flags = f
}

// loadConfig reads the config the flags name. A missing file named by
// VITALS_CONFIG (rather than --config) is blamed on the variable.
func (rf *runFlags) loadConfig() (*config.Config, error) {
	if env := os.Getenv("VITALS_CONFIG"); env != "" && !rf.flags.Changed("config") {
		if _, err := os.Stat(env); err != nil {
			return nil, usagef("VITALS_CONFIG=%s: cannot read it (%v): fix the variable or pass --config FILE", env, errors.Unwrap(err))
		}
	}
	return config.Load(rf.config, rf.flags)
}

// load reads the config and runs the pipeline up to correlation.
func (rf *runFlags) load(ctx context.Context, stderr io.Writer) (*config.Config, *reconcile.Result, error) {
	cfg, err := rf.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	in, err := reconcile.Setup(cfg, all.Registry(), time.Now())
	if err != nil {
		return nil, nil, err
	}
	if rf.ready != nil {
		if err := rf.ready(cfg, in); err != nil {
			return nil, nil, err
		}
	}
	opts := reconcile.Options{Strict: rf.strict, Shard: rf.shard}
	if isTerminal(stderr) {
		opts.Progress = stderr
	}
	res, err := reconcile.Run(ctx, in, opts)
	if err != nil {
		return nil, nil, err
	}
	return cfg, res, nil
}

// parseBytes reads sizes like 1GiB, 900MiB, 512MB or a plain byte count.
func parseBytes(s string) (int64, error) {
	units := []struct {
		suffix string
		n      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || v <= 0 {
				break
			}
			return int64(v * float64(u.n)), nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil && v > 0 {
		return v, nil
	}
	return 0, fmt.Errorf("%q is not a size such as 1GiB or 900MiB", s)
}

// args wraps a cobra argument check so that its error is a usage error.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usagef("%v (see %s --help)", err, cmd.CommandPath())
		}
		return nil
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
