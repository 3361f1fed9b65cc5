package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/vitals-dev/vitals/emit"
	"github.com/vitals-dev/vitals/plan"
	"github.com/vitals-dev/vitals/report"
)

type planOptions struct {
	run       runFlags
	format    string
	out       string
	emitTopic string
	confirm   string
	brokers   string
}

func newPlanCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Plan the repair of broken instances: a dry run, never executed by vitals",
		Long: `plan turns the findings of a run into ordered actions — refund_payment,
release_stock, mark_order_failed, void_invoice, replay_dead_letter, query_provider,
manual_review — each with its target, the money or stock it moves, the findings it
resolves, the preconditions to re-check just before executing it, and an idempotency
key that is the same on every run. The same input gives a byte-identical plan.

Nothing is sent anywhere unless both --emit-topic and --confirm are given and the
confirmed plan id is the id of the plan computed now: then each action is published
to Kafka as a command keyed by its idempotency key.`,
		Example: `  vitals plan
  vitals plan --format json --out plan.json
  vitals plan --emit-topic checkout.repairs --confirm p_1a2b3c4d5e6f7a8b --brokers kafka:9092`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPlan(cmd.Context(), o, stdout, stderr)
		},
	}
	o.run.bind(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.format, "format", "f", "table", "output format: table, json or csv")
	f.StringVarP(&o.out, "out", "o", "", "write the plan to this file (atomically) instead of stdout")
	f.StringVar(&o.emitTopic, "emit-topic", "", "publish each action as a command to this Kafka topic (needs --confirm)")
	f.StringVar(&o.confirm, "confirm", "", "the id of the reviewed plan; emitting is refused unless it is the id of the plan computed now")
	brokers := os.Getenv("VITALS_KAFKA_BROKERS")
	if brokers == "" {
		brokers = "localhost:9092"
	}
	f.StringVar(&o.brokers, "brokers", brokers, "Kafka bootstrap brokers for --emit-topic, comma-separated (env VITALS_KAFKA_BROKERS)")
	return cmd
}

func runPlan(ctx context.Context, o *planOptions, stdout, stderr io.Writer) error {
	format, err := report.ParsePlanFormat(o.format)
	if err != nil {
		return usagef("--format: %v", err)
	}
	if (o.emitTopic == "") != (o.confirm == "") {
		return usagef("--emit-topic and --confirm go together: run vitals plan, review it, then run it again with --emit-topic TOPIC --confirm PLAN_ID; nothing was sent")
	}
	var brokers []string
	for _, b := range strings.Split(o.brokers, ",") {
		if b = strings.TrimSpace(b); b != "" {
			brokers = append(brokers, b)
		}
	}
	if o.emitTopic != "" && len(brokers) == 0 {
		return usagef("--brokers: give at least one host:port to emit to")
	}
	cfg, res, err := o.run.load(ctx, stderr)
	if err != nil {
		return err
	}
	p, err := plan.Build(ctx, res, plan.Options{ConfigPath: cfg.Path})
	if err != nil {
		return err
	}
	p.Rerun = rerunCommand(o.run.flags, cfg.AsOf, res.In.Since, res.In.Until)
	write := func(w io.Writer) error { return report.WritePlan(w, p, format) }
	if o.out == "" {
		err = write(stdout)
	} else {
		err = writeAtomic(o.out, write)
	}
	if err != nil {
		return err
	}
	if o.emitTopic != "" {
		if failed := res.Failed(); failed != nil {
			return fmt.Errorf("nothing was emitted, as the plan may miss refunds or releases already made: %w", failed)
		}
		if err := emit.Check(p, o.confirm); err != nil {
			return usagef("%v", err)
		}
		w := emit.NewKafkaWriter(brokers, o.emitTopic)
		n, err := emit.Send(ctx, w, p, o.confirm)
		if cerr := w.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("emit plan %s to topic %s: %w", p.ID, o.emitTopic, err)
		}
		fmt.Fprintf(stderr, "vitals: sent %d command(s) of plan %s to topic %s\n", n, p.ID, o.emitTopic)
	}
	return res.Failed()
}

// rerunCommand is the plan command that computes the reviewed plan again:
// the flags given that shape it (and --brokers, where it is sent). When
// as_of is now, the window is pinned to the reviewed one (--since,
// --until) while as_of stays now: the emitting run must read every record
// up to the moment it emits — a refund made since the review changes the
// plan, and the emit is refused — yet judge the same instances.
func rerunCommand(flags *pflag.FlagSet, cfgAsOf string, since, until time.Time) string {
	shapes := map[string]bool{"config": true, "as-of": true, "since": true, "until": true, "lookback": true, "grace": true, "data-dir": true, "strict": true, "brokers": true}
	asOfNow := cfgAsOf == "" || cfgAsOf == "now"
	if f := flags.Lookup("as-of"); f != nil && f.Changed {
		asOfNow = f.Value.String() == "" || f.Value.String() == "now"
	}
	var b strings.Builder
	b.WriteString("vitals plan")
	flags.VisitAll(func(f *pflag.Flag) {
		if !f.Changed || !shapes[f.Name] || asOfNow && (f.Name == "as-of" || f.Name == "since" || f.Name == "until") {
			return
		}
		if f.Value.Type() == "bool" {
			fmt.Fprintf(&b, " --%s=%s", f.Name, f.Value.String())
			return
		}
		fmt.Fprintf(&b, " --%s %s", f.Name, shellQuote(f.Value.String()))
	})
	if asOfNow {
		if !since.IsZero() {
			fmt.Fprintf(&b, " --since %s", since.UTC().Format(time.RFC3339))
		}
		fmt.Fprintf(&b, " --until %s", until.UTC().Format(time.RFC3339))
	}
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
