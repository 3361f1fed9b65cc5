package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vitals-dev/vitals/report"
)

type explainOptions struct {
	run    runFlags
	format string
}

func newExplainCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &explainOptions{}
	cmd := &cobra.Command{
		Use:   "explain KEY",
		Short: "Show one instance: its steps, every piece of evidence, its findings",
		Long: `explain finds the instance that holds KEY — an order id, charge id, idempotency
key, event id, any declared key; write TYPE:VALUE to pick the type — and shows the
state of each step, the time-ordered evidence from every source with where it came
from, and the findings. It exits 1 when no record carries KEY.`,
		Example: `  vitals explain ORD-1042
  vitals explain charge_id:ch_3Mx01 --format json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd.Context(), o, args[0], stdout, stderr)
		},
	}
	o.run.bind(cmd)
	cmd.Flags().StringVarP(&o.format, "format", "f", "table", "output format: table or json")
	return cmd
}

func runExplain(ctx context.Context, o *explainOptions, key string, stdout, stderr io.Writer) error {
	format, err := report.ParseFormat(o.format)
	if err != nil || format == report.FormatMarkdown {
		return usagef("--format %q: use table or json", o.format)
	}
	_, res, err := o.run.load(ctx, stderr)
	if err != nil {
		return err
	}
	found, err := res.Find(key)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		if failed := res.Failed(); failed != nil {
			// The key may be in what could not be read: say so, and exit
			// as for a failed source, not as for an unknown key.
			fmt.Fprintf(stderr, "vitals: no record read carries the key %s, but a source failed, so it may be there; fix the source and run again\n", quote(key))
			return failed
		}
		types := res.Store.KeyTypes()
		if typ, _, ok := strings.Cut(key, ":"); ok && !slices.Contains(types, typ) {
			return &notFoundError{msg: "no record carries the key " + quote(key) + ", and " + quote(typ) + " is not a key type: to name the type, write TYPE:VALUE with one of " + strings.Join(types, ", ") + "; or give the value alone"}
		}
		return &notFoundError{msg: "no record carries the key " + quote(key) + ": check its spelling, that its source is configured, and that it happened before as_of " + res.In.AsOf.Format("2006-01-02T15:04:05Z07:00") + " (records after as_of are not read)"}
	}
	ex := report.Explain(res, key, found)
	if format == report.FormatJSON {
		err = report.WriteJSON(stdout, ex)
	} else {
		err = report.WriteExplanation(stdout, ex)
	}
	if err != nil {
		return err
	}
	return res.Failed()
}

func quote(s string) string { return "\"" + s + "\"" }
