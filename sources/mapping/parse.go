package mapping

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TimeFormat says how a time field is written.
type TimeFormat struct {
	kind   timeKind
	layout string
	loc    *time.Location
}

type timeKind uint8

const (
	timeRFC3339 timeKind = iota
	timeUnix
	timeUnixMilli
	timeUnixMicro
	timeUnixNano
	timeLayout
)

// ParseTimeFormat reads a format name: rfc3339 (the default; also accepts a
// space for T and zones like +00 as PostgreSQL prints them), unix, unix_ms,
// unix_us, unix_ns, or a Go layout such as "2006-01-02 15:04:05". zone is the
// IANA zone for times written without an offset (default UTC).
func ParseTimeFormat(format, zone string) (TimeFormat, error) {
	f := TimeFormat{loc: time.UTC}
	if zone != "" {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			return f, fmt.Errorf("zone %q: %w", zone, err)
		}
		f.loc = loc
	}
	switch format {
	case "", "rfc3339":
		f.kind = timeRFC3339
	case "unix", "unix_s":
		f.kind = timeUnix
	case "unix_ms":
		f.kind = timeUnixMilli
	case "unix_us":
		f.kind = timeUnixMicro
	case "unix_ns":
		f.kind = timeUnixNano
	default:
		if !strings.ContainsAny(format, "0123456789") {
			return f, fmt.Errorf("unknown time format %q: use rfc3339, unix, unix_ms, unix_us, unix_ns or a Go layout like \"2006-01-02 15:04:05\"", format)
		}
		f.kind = timeLayout
		f.layout = format
	}
	return f, nil
}

// String names the format in error messages.
func (f TimeFormat) String() string {
	switch f.kind {
	case timeUnix:
		return "unix seconds"
	case timeUnixMilli:
		return "unix milliseconds"
	case timeUnixMicro:
		return "unix microseconds"
	case timeUnixNano:
		return "unix nanoseconds"
	case timeLayout:
		return "layout " + strconv.Quote(f.layout)
	}
	return "an RFC 3339 time"
}

// Parse parses s in this format and returns it in UTC.
func (f TimeFormat) Parse(s string) (time.Time, error) { return f.parse(s, nil) }

// parse is Parse remembering, in c (if not nil), the last minute it read:
// a file's records come in time order, many in each minute, so the date
// and the hour and minute of the next are usually the same text.
func (f TimeFormat) parse(s string, c *minuteCache) (time.Time, error) {
	switch f.kind {
	case timeRFC3339:
		if t, ok := parseRFC3339(s, f.loc, c); ok {
			return t, nil
		}
		// The fast path wants two-digit fields; the standard library also
		// reads a few looser forms (a one-digit hour).
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC(), nil
		}
		return time.Time{}, fmt.Errorf("%q is not %s", s, f)
	case timeUnix:
		if i := strings.IndexByte(s, '.'); i >= 0 {
			sec, err1 := strconv.ParseInt(s[:i], 10, 64)
			frac := s[i+1:]
			if err1 != nil || len(frac) == 0 || len(frac) > 9 || !allDigits(frac) {
				return time.Time{}, fmt.Errorf("%q is not %s", s, f)
			}
			ns, _ := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
			if sec < 0 || strings.HasPrefix(s, "-") {
				ns = -ns
			}
			return f.plausible(s, time.Unix(sec, ns).UTC())
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not %s", s, f)
		}
		return f.plausible(s, time.Unix(n, 0).UTC())
	case timeUnixMilli, timeUnixMicro, timeUnixNano:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not %s", s, f)
		}
		switch f.kind {
		case timeUnixMilli:
			return f.plausible(s, time.UnixMilli(n).UTC())
		case timeUnixMicro:
			return f.plausible(s, time.UnixMicro(n).UTC())
		}
		return f.plausible(s, time.Unix(0, n).UTC())
	}
	if f.layout == sqlLayout && len(s) == len(sqlLayout) && s[10] == ' ' {
		// The commonest layout, as exports write it: the same fields as
		// RFC 3339 with no zone, so the fast parser reads it exactly
		// (anything else it refuses goes to the standard library).
		if t, ok := parseRFC3339(s, f.loc, c); ok {
			return t, nil
		}
	}
	t, err := time.ParseInLocation(f.layout, s, f.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match %s", s, f)
	}
	return t.UTC(), nil
}

// plausible refuses a unix time in the wrong unit: milliseconds read as
// seconds land in the year 58,000, seconds read as milliseconds in January
// 1970 — either would be dropped as outside the window, unseen.
func (f TimeFormat) plausible(s string, t time.Time) (time.Time, error) {
	if y := t.Year(); y < 1980 || y > 2200 {
		return time.Time{}, fmt.Errorf("%q as %s is %s: is the unit wrong? (now has 10 digits in seconds, 13 in milliseconds, 16 in microseconds, 19 in nanoseconds: set format: unix, unix_ms, unix_us or unix_ns)", s, f, t.Format(time.RFC3339))
	}
	return t, nil
}

// sqlLayout is the layout of a SQL timestamp without zone.
const sqlLayout = "2006-01-02 15:04:05"

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// minuteCache holds the fields of the last time parseRFC3339 read up to
// its minute ("2026-11-20T09:54"), as text and as numbers.
type minuteCache struct {
	prefix                         [16]byte
	ok                             bool
	year, month, day, hour, minute int
	base                           int64 // the minute's unix seconds, as UTC
}

// parseRFC3339 parses YYYY-MM-DD[T ]HH:MM:SS[.fraction][Z|±HH[:MM]] without
// allocating. A time without an offset is in loc. c, if not nil, spares
// reading the date, hour and minute again when they repeat.
func parseRFC3339(s string, loc *time.Location, c *minuteCache) (time.Time, bool) {
	if len(s) < 19 || s[16] != ':' {
		return time.Time{}, false
	}
	var year, month, day, hour, minute int
	var base int64
	if c != nil && c.ok && string(c.prefix[:]) == s[:16] {
		year, month, day, hour, minute, base = c.year, c.month, c.day, c.hour, c.minute, c.base
	} else {
		if s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' {
			return time.Time{}, false
		}
		var ok1, ok2, ok3, ok4, ok5 bool
		year, ok1 = atoiN(s[0:4])
		month, ok2 = atoiN(s[5:7])
		day, ok3 = atoiN(s[8:10])
		hour, ok4 = atoiN(s[11:13])
		minute, ok5 = atoiN(s[14:16])
		if !(ok1 && ok2 && ok3 && ok4 && ok5) || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 {
			return time.Time{}, false
		}
		base = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60)
		if c != nil {
			*c = minuteCache{ok: true, year: year, month: month, day: day, hour: hour, minute: minute, base: base}
			copy(c.prefix[:], s[:16])
		}
	}
	sec, ok := atoiN(s[17:19])
	if !ok || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		digits := rest[1:i]
		if len(digits) == 0 || len(digits) > 9 {
			return time.Time{}, false
		}
		n, _ := atoiN(digits)
		for k := len(digits); k < 9; k++ {
			n *= 10
		}
		nsec = n
		rest = rest[i:]
	}
	offset := 0
	switch {
	case rest == "" && loc != time.UTC:
		t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
		return t.UTC(), true
	case rest == "":
	case rest == "Z" || rest == "z":
	case rest[0] == '+' || rest[0] == '-':
		z := rest[1:]
		var h, m int
		var ok bool
		switch len(z) {
		case 2:
			h, ok = atoiN(z)
		case 4:
			h, ok = atoiN(z[:2])
			if ok {
				m, ok = atoiN(z[2:])
			}
		case 5:
			if z[2] != ':' {
				return time.Time{}, false
			}
			h, ok = atoiN(z[:2])
			if ok {
				m, ok = atoiN(z[3:])
			}
		default:
			return time.Time{}, false
		}
		if !ok || h > 23 || m > 59 {
			return time.Time{}, false
		}
		offset = (h*60 + m) * 60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	// The fields are valid: the unix time is plain arithmetic, without
	// time.Date's normalisation.
	unix := base + int64(sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

// daysFromCivil returns the days from 1970-01-01 to a proleptic
// Gregorian date (Howard Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func atoiN(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ParsePath splits a JSON path: a.b.c, a["x.y"].b, items.0.sku.
func ParsePath(p string) ([]string, error) {
	var segs []string
	i := 0
	for i < len(p) {
		switch {
		case p[i] == '[':
			if i+1 >= len(p) || p[i+1] != '"' {
				return nil, fmt.Errorf("path %q: after [ write a quoted name, like [\"a.b\"]", p)
			}
			end := strings.Index(p[i+2:], "\"]")
			if end < 0 {
				return nil, fmt.Errorf("path %q: unclosed [\"", p)
			}
			segs = append(segs, p[i+2:i+2+end])
			i += 2 + end + 2
			if i < len(p) && p[i] == '.' {
				i++
				if i == len(p) {
					return nil, fmt.Errorf("path %q ends with a dot", p)
				}
			}
		default:
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("path %q has an empty segment", p)
			}
			segs = append(segs, p[i:j])
			i = j
			if i < len(p) && p[i] == '.' {
				i++
				if i == len(p) {
					return nil, fmt.Errorf("path %q ends with a dot", p)
				}
			}
		}
	}
	if len(segs) == 0 {
		return nil, errors.New("empty path")
	}
	return segs, nil
}
