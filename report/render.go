package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/vitals-dev/vitals/saga"
)

// Format is an output format.
type Format string

const (
	FormatTable    Format = "table"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// ParseFormat reads a --format value.
func ParseFormat(s string) (Format, error) {
	switch Format(s) {
	case FormatTable, FormatJSON, FormatMarkdown:
		return Format(s), nil
	case "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("unknown format %q: use table, json or markdown", s)
}

// WriteJSON writes v as indented JSON with a final newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table returns a table writer: light borders on a terminal, pipes for markdown.
func table(w io.Writer, md bool, header ...string) *tablewriter.Table {
	wrap := tw.WrapNormal // long explanations wrap on a terminal
	if md {
		wrap = tw.WrapNone // a markdown row is one line
	}
	opts := []tablewriter.Option{
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAutoWrap(wrap),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithTrimSpace(tw.Off),
	}
	if md {
		opts = append(opts, tablewriter.WithRenderer(renderer.NewMarkdown()))
	} else {
		opts = append(opts, tablewriter.WithRowMaxWidth(72))
	}
	t := tablewriter.NewTable(w, opts...)
	h := make([]any, len(header))
	for i, s := range header {
		h[i] = s
	}
	t.Header(h...)
	return t
}

// mdCell makes a value safe in a markdown table cell: a row is one line,
// and | ends a cell.
var mdCell = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ")

func row(t *tablewriter.Table, md bool, cells ...string) {
	r := make([]any, len(cells))
	for i, c := range cells {
		if md {
			c = mdCell.Replace(c)
		}
		r[i] = c
	}
	_ = t.Append(r...)
}

// Write renders rep in the given format.
func Write(w io.Writer, rep *Report, f Format) error {
	switch f {
	case FormatJSON:
		return writeReportJSON(w, rep)
	case FormatMarkdown:
		return writeText(w, rep, true)
	}
	return writeText(w, rep, false)
}

func writeText(w io.Writer, rep *Report, md bool) error {
	h := func(s string) {
		if md {
			fmt.Fprintf(w, "\n## %s\n\n", s)
		} else {
			fmt.Fprintf(w, "\n%s\n", s)
		}
	}
	title := fmt.Sprintf("vitals check: %s as of %s", rep.Run.Process, rep.Run.AsOf)
	if md {
		fmt.Fprintf(w, "# %s\n\n", title)
	} else {
		fmt.Fprintln(w, title)
	}
	window := "window: instances started "
	if rep.Run.Since != "" {
		window += "from " + rep.Run.Since + " "
	}
	window += "until " + rep.Run.Until + "; grace " + rep.Run.Grace
	fmt.Fprintln(w, window)
	switch {
	case rep.Shard != nil && rep.Shard.Count > 1:
		fmt.Fprintf(w, "SHARD %d/%d: only the instances this shard owns; merge all %d shards' JSON reports with vitals report merge for the whole run\n", rep.Shard.Index, rep.Shard.Count, rep.Shard.Count)
	case rep.Merged != nil:
		line := fmt.Sprintf("merged from %d shards", rep.Merged.Shards)
		if n := len(rep.Merged.Warnings); n > 0 {
			line += fmt.Sprintf("; %d merge warning(s) in the JSON report's merged.warnings", n)
		}
		fmt.Fprintln(w, line)
	}
	if !rep.Run.Complete {
		fmt.Fprintln(w, "INCOMPLETE: a source failed (see sources); nothing is called missing from it, and findings may be missing too")
	}
	if bad := badInput(rep); bad > 0 {
		fmt.Fprintf(w, "BAD INPUT: %d input(s) could not be read (listed under Sources); an instance whose evidence was among them is judged without it\n", bad)
	}

	h("Sources")
	t := table(w, md, "source", "type", "records", "errors", "coverage", "status")
	for _, s := range rep.Sources {
		status := "ok"
		if s.Error != "" {
			status = "FAILED: " + s.Error
		} else if !s.Coverage.Complete {
			status = "incomplete"
		}
		cov := "-"
		switch {
		case s.Coverage.Since != "" && s.Coverage.Until != "":
			cov = s.Coverage.Since + " to " + s.Coverage.Until
		case s.Coverage.Until != "":
			cov = "until " + s.Coverage.Until
		case s.Coverage.Since != "":
			cov = "from " + s.Coverage.Since
		}
		row(t, md, s.Name, s.Type, fmt.Sprint(s.Records), fmt.Sprint(s.Errors), cov, status)
	}
	if err := t.Render(); err != nil {
		return err
	}
	for _, s := range rep.Sources {
		if len(s.BadInput) == 0 {
			continue
		}
		if md {
			fmt.Fprintln(w) // a line right below a table would be read as a row of it
		}
		fmt.Fprintf(w, "%s: %d input(s) could not be read", s.Name, s.Errors)
		if s.Errors > len(s.BadInput) {
			fmt.Fprintf(w, " (first %d listed)", len(s.BadInput))
		}
		fmt.Fprintln(w, ":")
		for _, b := range s.BadInput {
			if md {
				fmt.Fprintf(w, "- `%s` %s\n", b.At, b.Error)
			} else {
				fmt.Fprintf(w, "  %s  %s\n", b.At, b.Error)
			}
		}
	}

	h("Summary")
	sum := rep.Summary
	var outs []string
	for _, o := range saga.Outcomes {
		if n := sum.Outcomes[string(o)]; n > 0 {
			outs = append(outs, fmt.Sprintf("%s %d", o, n))
		}
	}
	fmt.Fprintf(w, "%d instances judged", sum.Judged)
	if len(outs) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(outs, ", "))
	}
	if sum.BeforeWindow > 0 {
		fmt.Fprintf(w, "; %d started before the window", sum.BeforeWindow)
	}
	fmt.Fprintln(w)
	if sum.Judged == 0 && sum.BeforeWindow > 0 {
		fmt.Fprintf(w, "Every instance started before the window: is the data older than the window? Judge it with --as-of (the time of the export) or a wider --since.\n")
	}
	if md {
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%d need attention, %d in grace, %d orphan group(s)\n", sum.NeedsAttention, sum.InGrace, sum.Orphans)
	if md {
		fmt.Fprintln(w)
	}
	var sevs []string
	for s := saga.Critical; s >= saga.Info; s-- {
		if n := sum.BySeverity[s.String()]; n > 0 {
			sevs = append(sevs, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(w, "%d findings", sum.Findings)
	if len(sevs) > 0 {
		fmt.Fprintf(w, ": %s", strings.Join(sevs, ", "))
	}
	if b := sum.Baseline; b != nil {
		fmt.Fprintf(w, " (%d new, %d open, %d resolved since %s", b.New, b.Open, b.Resolved, rep.Run.Baseline)
		if b.Unchecked > 0 {
			fmt.Fprintf(w, "; %d unchecked: this run could not check them again", b.Unchecked)
		}
		if b.AgedOut > 0 {
			fmt.Fprintf(w, "; %d aged out of the window", b.AgedOut)
		}
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)

	if sum.RuleErrors > 0 {
		fmt.Fprintf(w, "%d invariant evaluation(s) failed: fix the expression or the data (first %d listed):\n", sum.RuleErrors, len(rep.RuleErrors))
		for _, e := range rep.RuleErrors {
			fmt.Fprintf(w, "  %s  %s\n", e.Root, e.Error)
		}
	}

	if len(rep.Findings) > 0 {
		h("Findings")
		cols := []string{"severity", "code", "root", "step", "explanation"}
		if sum.Baseline != nil {
			cols = append([]string{"status"}, cols...)
		}
		t := table(w, md, cols...)
		for _, f := range rep.Findings {
			cells := []string{f.Severity, f.Code, f.Root, orDash(f.Step, "-"), f.Message}
			if sum.Baseline != nil {
				st := f.Status
				if f.Status == "open" {
					st = "open since " + f.FirstSeen
				}
				cells = append([]string{st}, cells...)
			}
			row(t, md, cells...)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, list := range []struct {
		title    string
		findings []Finding
	}{
		{"Resolved since the baseline", rep.Resolved},
		{"Not checked again (kept for the next run)", rep.Unchecked},
	} {
		if len(list.findings) == 0 {
			continue
		}
		h(list.title)
		t := table(w, md, "severity", "code", "root", "step", "first seen")
		for _, f := range list.findings {
			row(t, md, f.Severity, f.Code, f.Root, orDash(f.Step, "-"), f.FirstSeen)
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if len(rep.Findings) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Run `vitals explain ROOT` for the evidence behind an instance's findings.")
	}
	return nil
}

func orDash(s, dash string) string {
	if s == "" {
		return dash
	}
	return s
}

// countCodes returns "CODE×n" parts, sorted.
func countCodes(codes []string) string {
	m := map[string]int{}
	for _, c := range codes {
		m[c]++
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		if m[k] > 1 {
			parts = append(parts, fmt.Sprintf("%s×%d", k, m[k]))
		} else {
			parts = append(parts, k)
		}
	}
	return strings.Join(parts, ", ")
}

// badInput counts the inputs the sources could not read.
func badInput(rep *Report) int {
	n := 0
	for _, s := range rep.Sources {
		n += s.Errors
	}
	return n
}
