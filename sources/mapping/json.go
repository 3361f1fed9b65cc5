package mapping

import (
	"unsafe"

	"github.com/valyala/fastjson"
)

// JSONText returns the text the mapping reads for a JSON value: strings
// unquoted, numbers and booleans as written, objects and arrays as JSON,
// null and absent (nil) as "". A string's text is a view of the parser's
// buffer; any other text is written into scratch and is a view of it. The
// grown scratch is returned for reuse. Callers copy what they keep.
func JSONText(f *fastjson.Value, scratch []byte) (string, []byte) {
	if f == nil {
		return "", scratch
	}
	switch f.Type() {
	case fastjson.TypeString:
		b := f.GetStringBytes()
		return unsafe.String(unsafe.SliceData(b), len(b)), scratch
	case fastjson.TypeNull:
		return "", scratch
	case fastjson.TypeTrue:
		return "true", scratch
	case fastjson.TypeFalse:
		return "false", scratch
	}
	scratch = f.MarshalTo(scratch[:0])
	return unsafe.String(unsafe.SliceData(scratch), len(scratch)), scratch
}

// JSONPaths takes the texts of several paths from a JSON value in one walk
// of it: each object on the way is visited once, instead of once for every
// path that passes through it (a source mapping eleven fields, seven of
// them under "data", looked "data" up seven times). Each path gets
// JSONText(v.Get(path...)), with keys compared by their unescaped value
// ("a\u0062" is "ab") and the first of duplicate keys counting; a segment
// indexes an array as Get does. (Get alone prefers a key written plainly
// over an earlier escaped one until something unescapes the object's
// keys: an order-dependent answer that one walk cannot and should not
// give.) An object's own text is JSON of the same members, its keys
// escaped as written or re-escaped. It holds no state of a walk:
// goroutines share one.
type JSONPaths struct {
	root jsonNode
	n    int
}

type jsonNode struct {
	key    string
	fields []int       // the paths that end here
	kids   []*jsonNode // the next segments of the paths through here
}

// NewJSONPaths prepares the walk for paths (each a list of segments, as
// ParsePath gives them); Fill then fills one text per path, in order.
func NewJSONPaths(paths [][]string) *JSONPaths {
	x := &JSONPaths{n: len(paths)}
	for i, p := range paths {
		n := &x.root
	segs:
		for _, seg := range p {
			for _, k := range n.kids {
				if k.key == seg {
					n = k
					continue segs
				}
			}
			k := &jsonNode{key: seg}
			n.kids = append(n.kids, k)
			n = k
		}
		n.fields = append(n.fields, i)
	}
	return x
}

// Fill sets vals[i] to the text of path i in v ("" where it is absent),
// using scratch[i] as JSONText does; vals and scratch hold one entry per
// path.
func (x *JSONPaths) Fill(v *fastjson.Value, vals []string, scratch [][]byte) {
	clear(vals)
	x.fill(&x.root, v, vals, scratch)
}

func (x *JSONPaths) fill(n *jsonNode, v *fastjson.Value, vals []string, scratch [][]byte) {
	for _, f := range n.fields {
		vals[f], scratch[f] = JSONText(v, scratch[f])
	}
	if len(n.kids) == 0 {
		return
	}
	if v.Type() != fastjson.TypeObject {
		// An array is indexed by a segment, anything else has no members:
		// as Get does.
		for _, k := range n.kids {
			if c := v.Get(k.key); c != nil {
				x.fill(k, c, vals, scratch)
			}
		}
		return
	}
	o, _ := v.Object()
	var done uint64 // kids found (the first of duplicate keys counts)
	var many []bool // the same, past 64 kids
	if len(n.kids) > 64 {
		many = make([]bool, len(n.kids))
	}
	left := len(n.kids)
	o.Visit(func(key []byte, c *fastjson.Value) {
		if left == 0 {
			return
		}
		for i, k := range n.kids {
			if len(k.key) != len(key) || k.key != string(key) {
				continue
			}
			if many != nil {
				if many[i] {
					return
				}
				many[i] = true
			} else {
				if done&(1<<i) != 0 {
					return
				}
				done |= 1 << i
			}
			left--
			x.fill(k, c, vals, scratch)
			return
		}
	})
}
