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
