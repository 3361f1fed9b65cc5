package postgres

import (
	"strconv"
	"time"
)

// text renders a column value the way the mapping reads it: times as RFC
// 3339 in UTC, numerics and everything else as PostgreSQL writes them,
// NULL as "" (absent). The result may point into buf, which it returns.
func text(v any, buf []byte) (string, []byte) {
	switch x := v.(type) {
	case nil:
		return "", buf
	case []byte:
		buf = append(buf[:0], x...)
		return str(buf), buf
	case string:
		return x, buf
	case int64:
		return strconv.FormatInt(x, 10), buf
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), buf
	case bool:
		if x {
			return "true", buf
		}
		return "false", buf
	case time.Time:
		buf = x.UTC().AppendFormat(buf[:0], time.RFC3339Nano)
		return str(buf), buf
	}
	return "", buf
}
