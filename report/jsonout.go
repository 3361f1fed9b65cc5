package report

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/vitals-dev/vitals/internal/par"
)

// writeReportJSON writes rep exactly as WriteJSON would, but encodes the
// elements of its long lists (findings, instances) on every core: a
// million-instance report is tens of megabytes, and encoding/json indents
// on one.
func writeReportJSON(w io.Writer, rep *Report) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	first := true
	field := func(name string) {
		if !first {
			b.WriteString(",\n")
		}
		first = false
		b.WriteString(`  "` + name + `": `)
	}
	value := func(name string, v any) error {
		field(name)
		return encodeIndented(&b, v, "  ")
	}
	if err := value("schema", rep.Schema); err != nil {
		return err
	}
	if err := value("run", rep.Run); err != nil {
		return err
	}
	if err := value("sources", rep.Sources); err != nil {
		return err
	}
	if err := value("summary", rep.Summary); err != nil {
		return err
	}
	field("findings")
	if err := writeList(&b, w, rep.Findings); err != nil {
		return err
	}
	if len(rep.Resolved) > 0 {
		field("resolved")
		if err := writeList(&b, w, rep.Resolved); err != nil {
			return err
		}
	}
	if len(rep.Unchecked) > 0 {
		field("unchecked")
		if err := writeList(&b, w, rep.Unchecked); err != nil {
			return err
		}
	}
	field("instances")
	if err := writeList(&b, w, rep.Instances); err != nil {
		return err
	}
	if len(rep.RuleErrors) > 0 {
		if err := value("rule_errors", rep.RuleErrors); err != nil {
			return err
		}
	}
	if rep.Shard != nil {
		if err := value("shard", rep.Shard); err != nil {
			return err
		}
	}
	if rep.Merged != nil {
		if err := value("merged", rep.Merged); err != nil {
			return err
		}
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

// encodeIndented appends v as WriteJSON indents it at the given depth,
// without the newline the encoder ends with.
func encodeIndented(b *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1)
	return nil
}

// writeList appends a top-level list field's value to b; what b holds is
// first written to w when the list is long, so that b does not hold it all.
func writeList[T any](b *bytes.Buffer, w io.Writer, items []T) error {
	switch {
	case items == nil:
		b.WriteString("null")
		return nil
	case len(items) == 0:
		b.WriteString("[]")
		return nil
	}
	const chunk = 512
	chunks := (len(items) + chunk - 1) / chunk
	out := make([]bytes.Buffer, chunks)
	errs := make([]error, chunks)
	par.Split(par.Workers(), chunks, func(_, lo, hi int) {
		for c := lo; c < hi; c++ {
			for i := c * chunk; i < min((c+1)*chunk, len(items)); i++ {
				out[c].WriteString(",\n    ")
				if errs[c] = encodeIndented(&out[c], items[i], "    "); errs[c] != nil {
					break
				}
			}
		}
	})
	b.WriteString("[")
	for c := range out {
		if errs[c] != nil {
			return errs[c]
		}
		data := out[c].Bytes()
		if c == 0 {
			data = data[1:] // the first element has no comma before it
		}
		b.Write(data)
		if b.Len() >= 1<<20 {
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	b.WriteString("\n  ]")
	return nil
}
