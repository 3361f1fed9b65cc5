package mapping

import (
	"strings"
	"testing"

	"github.com/valyala/fastjson"
)

// FuzzJSONPaths checks that one walk gives each path the text Get gives it.
// Its seeds run in every test run; paths are separated by "|".
func FuzzJSONPaths(f *testing.F) {
	for _, seed := range []struct{ doc, paths string }{
		{`{"event_id":"e1","type":"PaymentCaptured","data":{"charge_id":"ch_1","amount":7035,"currency":"EUR"}}`,
			`event_id|type|data.charge_id|data.amount|data.currency|data.reason|missing.deeper`},
		{`{"a":1,"a":2,"b":{"c":3},"b":{"c":4,"d":5}}`, `a|b.c|b.d|b`},                                     // the first of duplicates counts
		{`{"items":[{"sku":"A"},{"sku":"B"}],"n":null,"t":true}`, `items.1.sku|items.0|items.x|n|t|items`}, // arrays by index
		{`{"a\u0062":"escaped key","h":{"x.y":"dotted"}}`, `ab|h["x.y"]|h.x`},
		{`{"a":{"b":{"c":"deep"}},"a2":"s"}`, `a.b.c|a.b|a|a.b.c.d|a2.x`},
		{`["top","level"]`, `0|1|2`},
		{`"just a string"`, `x`},
	} {
		f.Add(seed.doc, seed.paths)
	}
	f.Fuzz(func(t *testing.T, doc, list string) {
		if fastjson.Validate(doc) != nil {
			return
		}
		var paths [][]string
		for _, p := range strings.Split(list, "|") {
			if segs, err := ParsePath(p); err == nil && len(segs) > 0 {
				paths = append(paths, segs)
			}
		}
		x := NewJSONPaths(paths)
		vals, scratch := make([]string, len(paths)), make([][]byte, len(paths))
		// Each walk and each Get on a fresh parse: reading an object's
		// members unescapes its keys in place, which changes how fastjson
		// writes it out later (for keys holding control characters).
		for range 2 { // again with the buffers of the first walk
			x.Fill(fastjson.MustParse(doc), vals, scratch)
			for i, p := range paths {
				want, _ := JSONText(fastjson.MustParse(doc).Get(p...), nil)
				if vals[i] != want {
					t.Fatalf("path %q in %s: got %q, Get gives %q", p, doc, vals[i], want)
				}
			}
		}
	})
}

// A mapping with more than 64 fields under one object still takes the
// first of duplicate keys.
func TestJSONPathsManyKids(t *testing.T) {
	var doc strings.Builder
	var paths [][]string
	doc.WriteString("{")
	for i := range 70 {
		k := "k" + strings.Repeat("x", i)
		doc.WriteString(`"` + k + `":"first",`)
		paths = append(paths, []string{k})
	}
	doc.WriteString(`"k":"first","k":"second"}`)
	paths = append(paths, []string{"k"})
	v := fastjson.MustParse(doc.String())
	x := NewJSONPaths(paths)
	vals, scratch := make([]string, len(paths)), make([][]byte, len(paths))
	x.Fill(v, vals, scratch)
	for i, got := range vals {
		if got != "first" {
			t.Fatalf("path %q: got %q, want first", paths[i], got)
		}
	}
}
