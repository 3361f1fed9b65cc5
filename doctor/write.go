package doctor

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/vitals-dev/vitals/money"
	"github.com/vitals-dev/vitals/reconcile"
)

// Write prints the results for a person.
func Write(w io.Writer, in *reconcile.Input, results []Result) error {
	var b strings.Builder
	rw := in.ReadWindow()
	fmt.Fprintf(&b, "as_of %s; judging instances started in [%s, %s); reading from %s\n",
		ts(in.AsOf), tsOr(in.Since, "the beginning"), ts(in.Until), tsOr(rw.Since, "the beginning"))
	failed := 0
	for i := range results {
		r := &results[i]
		if !r.OK() {
			failed++
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s (%s", r.Name, r.Type)
		if r.Endpoint != "" {
			fmt.Fprintf(&b, ", %s", r.Endpoint)
		}
		b.WriteString(")\n")
		switch {
		case r.Connect != nil:
			fmt.Fprintf(&b, "  connect   FAILED: %v\n", r.Connect)
			continue
		case r.Connected:
			fmt.Fprintf(&b, "  connect   ok (%s)\n", dur(r.ConnectTook))
		}
		status := "ok"
		if r.Read != nil || r.NothingMapped() {
			status = "FAILED"
		}
		fmt.Fprintf(&b, "  read      %s: %d records in %s, %d in the window, %d after as_of, %d filtered, %d bad\n",
			status, r.Records, dur(r.ReadTook), r.InWindow, r.AfterAsOf, r.Filtered, r.Bad)
		if len(r.ByKind) > 1 || len(r.Kinds) > 1 {
			kinds := slices.Sorted(maps.Keys(r.ByKind))
			for _, k := range r.Empty() {
				if !slices.Contains(kinds, k) {
					kinds = append(kinds, k)
				}
			}
			parts := make([]string, len(kinds))
			for i, k := range kinds {
				parts[i] = fmt.Sprintf("%s %d", k, r.ByKind[k])
			}
			fmt.Fprintf(&b, "  kinds     %s\n", strings.Join(parts, ", "))
		}
		if r.Read == nil {
			for _, k := range r.Empty() {
				fmt.Fprintf(&b, "  WARNING   no %s record read: if there should be some in this window, check the mapping's query, status map or when: against the data\n", k)
			}
		}
		if r.Read != nil {
			fmt.Fprintf(&b, "  error     %v\n", r.Read)
		} else if r.NothingMapped() {
			fmt.Fprintf(&b, "  error     %s\n", nothingMapped(*r))
		}
		cov := "complete"
		if !r.Coverage.Complete {
			cov = "INCOMPLETE"
		}
		fmt.Fprintf(&b, "  coverage  %s .. %s, %s\n", tsOr(r.Coverage.Since, "the beginning"), tsOr(r.Coverage.Until, "?"), cov)
		if len(r.Samples) > 0 {
			b.WriteString("  samples\n")
			for _, s := range r.Samples {
				fmt.Fprintf(&b, "    %s  %s  %s", s.Prov, s.Kind, ts(s.Time))
				if s.Status != "" {
					fmt.Fprintf(&b, "  status=%s", s.Status)
				}
				if s.HasAmount {
					fmt.Fprintf(&b, "  %s", money.String(s.Amount, s.Currency))
				}
				if len(s.Keys) > 0 {
					fmt.Fprintf(&b, "  %s", mask(s.Keys, nil))
				}
				if len(s.Attrs) > 0 {
					fmt.Fprintf(&b, "  attrs: %s", mask(s.Attrs, in.Mask))
				}
				b.WriteString("\n")
			}
		}
		if r.Bad > 0 {
			fmt.Fprintf(&b, "  mapping errors (%d; the first %d by location)\n", r.Bad, len(r.Errors))
			for _, e := range r.Errors {
				fmt.Fprintf(&b, "    %s  %v\n", e.At, e.Err)
			}
		}
	}
	fmt.Fprintf(&b, "\n%d source(s) checked: %d ok, %d failed\n", len(results), len(results)-failed, failed)
	_, err := io.WriteString(w, b.String())
	return err
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func tsOr(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return ts(t)
}

func dur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}
