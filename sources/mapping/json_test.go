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
		{`{"a\u0062":"x","ab":"y","o":{"\u0062":1}}`, `ab|o.b|o`}, // duplicates by unescaped key: the first counts
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
		// The oracle is Get on a parse whose objects have all had their
		// keys unescaped: then Get compares unescaped keys and takes the
		// first match, as the walk does. An object's or array's text may
		// write a key's escapes differently: it must be the same JSON.
		ref := fastjson.MustParse(doc)
		unescapeAll(ref)
		for range 2 { // again with the buffers of the first walk
			x.Fill(fastjson.MustParse(doc), vals, scratch)
			for i, p := range paths {
				f := ref.Get(p...)
				want, _ := JSONText(f, nil)
				if vals[i] == want {
					continue
				}
				if t := f.Type(); t == fastjson.TypeObject || t == fastjson.TypeArray {
					if got, err := fastjson.Parse(vals[i]); err == nil && sameJSON(got, f) {
						continue
					}
				}
				t.Fatalf("path %q in %s: got %q, want %q", p, doc, vals[i], want)
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

// unescapeAll visits every object in v, which unescapes its keys.
func unescapeAll(v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		o.Visit(func(_ []byte, c *fastjson.Value) { unescapeAll(c) })
	case fastjson.TypeArray:
		for _, c := range v.GetArray() {
			unescapeAll(c)
		}
	}
}

// sameJSON reports whether a and b are the same JSON: members in the same
// order with the same unescaped keys, strings by value, numbers as written.
func sameJSON(a, b *fastjson.Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch a.Type() {
	case fastjson.TypeObject:
		oa, _ := a.Object()
		ob, _ := b.Object()
		if oa.Len() != ob.Len() {
			return false
		}
		var ka, kb []string
		var va, vb []*fastjson.Value
		oa.Visit(func(k []byte, v *fastjson.Value) { ka, va = append(ka, string(k)), append(va, v) })
		ob.Visit(func(k []byte, v *fastjson.Value) { kb, vb = append(kb, string(k)), append(vb, v) })
		for i := range ka {
			if ka[i] != kb[i] || !sameJSON(va[i], vb[i]) {
				return false
			}
		}
		return true
	case fastjson.TypeArray:
		xa, xb := a.GetArray(), b.GetArray()
		if len(xa) != len(xb) {
			return false
		}
		for i := range xa {
			if !sameJSON(xa[i], xb[i]) {
				return false
			}
		}
		return true
	case fastjson.TypeString:
		return string(a.GetStringBytes()) == string(b.GetStringBytes())
	}
	return a.String() == b.String()
}
