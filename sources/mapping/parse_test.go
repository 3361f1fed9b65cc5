package mapping

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zone tests need no system zone files
)

func TestTimeFormats(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, tt := range []struct {
		format, zone, in string
		want             time.Time
		err              string
	}{
		{"", "", "2026-11-20T10:00:01Z", utc("2026-11-20T10:00:01Z"), ""},
		{"", "", "2026-11-20T10:00:01.5+01:00", utc("2026-11-20T09:00:01.5Z"), ""},
		{"", "", "2026-11-20 10:00:01+00", utc("2026-11-20T10:00:01Z"), ""},
		{"", "", "2026-11-20 10:00:01.123456-0530", utc("2026-11-20T15:30:01.123456Z"), ""},
		{"", "", "2026-11-20T10:00:01", utc("2026-11-20T10:00:01Z"), ""},
		{"", "Europe/Berlin", "2026-11-20T10:00:01", utc("2026-11-20T09:00:01Z"), ""},
		{"", "", "2026-02-29T00:00:00Z", time.Time{}, "is not an RFC 3339 time"},
		{"", "", "2024-02-29T00:00:00Z", utc("2024-02-29T00:00:00Z"), ""},
		{"", "", "20/11/2026", time.Time{}, "is not an RFC 3339 time"},
		{"unix", "", "1795168809", utc("2026-11-20T10:00:09Z"), ""},
		{"unix", "", "1795168809.25", utc("2026-11-20T10:00:09.25Z"), ""},
		{"unix_ms", "", "1795168809000", utc("2026-11-20T10:00:09Z"), ""},
		{"unix_us", "", "1795168809000001", utc("2026-11-20T10:00:09.000001Z"), ""},
		{"unix_ms", "", "17951688090.5", time.Time{}, "is not unix milliseconds"},
		{"unix", "", "1795168809000", time.Time{}, "is the unit wrong?"},
		{"unix_ms", "", "1795168809", time.Time{}, "is the unit wrong?"},
		{"unix_ns", "", "1795168809000000", time.Time{}, "is the unit wrong?"},
		{"2006-01-02 15:04:05", "", "2026-11-20 10:00:01", utc("2026-11-20T10:00:01Z"), ""},
		{"02/01/2006 15:04", "America/New_York", "20/11/2026 05:00", utc("2026-11-20T10:00:00Z"), ""},
	} {
		f, err := ParseTimeFormat(tt.format, tt.zone)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Parse(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s %q: %v %v, want error %q", tt.format, tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s %q = %v, %v; want %v", tt.format, tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseTimeFormat("weekly", ""); err == nil {
		t.Error("unknown format accepted")
	}
	if _, err := ParseTimeFormat("", "Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		"a":                                 "a",
		"a.b.c":                             "a|b|c",
		`headers["__connect.errors.topic"]`: "headers|__connect.errors.topic",
		`value["x.y"].z`:                    "value|x.y|z",
		"items.0.sku":                       "items|0|sku",
	} {
		got, err := ParsePath(in)
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("ParsePath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a.", ".a", "a..b", `a[b]`, `a["b`} {
		if _, err := ParsePath(bad); err == nil {
			t.Errorf("ParsePath(%q) accepted", bad)
		}
	}
}

// FuzzRFC3339 checks the time parser against the standard library:
// whatever time.Parse reads as RFC 3339, so must it, to the same instant.
func FuzzRFC3339(f *testing.F) {
	for _, s := range []string{"2026-11-20T10:00:01Z", "2026-11-20T10:00:01.123456789+05:30", "1999-12-31T23:59:59-00:00", "2026-13-01T00:00:00Z",
		"0000-03-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "2000-02-29T23:59:59.999999999-23:59", "2100-02-29T00:00:00Z", "1600-02-29T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return
		}
		f, _ := ParseTimeFormat("", "")
		got, err := f.Parse(s)
		if err != nil {
			t.Fatalf("%q: time.Parse reads %v, we reject it: %v", s, want, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
		// And after a time of the same minute, and of another, has filled
		// the cache of the last minute read.
		for _, before := range []string{s, "2026-11-20T10:00:01Z"} {
			var c minuteCache
			if _, err := f.parse(before, &c); err != nil {
				continue
			}
			got, err := f.parse(s, &c)
			if err != nil || !got.Equal(want) {
				t.Fatalf("%q after %q: got %v (%v), want %v", s, before, got, err, want)
			}
		}
	})
}

// A cached minute must not let through what the full parse refuses: the
// seconds, fraction and zone are read every time.
func TestMinuteCacheRefusesBadRest(t *testing.T) {
	f, _ := ParseTimeFormat("", "")
	var c minuteCache
	if _, err := f.parse("2026-11-20T09:54:33.000Z", &c); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"2026-11-20T09:54:60Z", "2026-11-20T09:54:3xZ", "2026-11-20T09:54:33.Z", "2026-11-20T09:54:33+25", "2026-11-20T09:54"} {
		if got, err := f.parse(bad, &c); err == nil {
			t.Errorf("%q read as %v after a time of its minute", bad, got)
		}
	}
	got, err := f.parse("2026-11-20T09:54:59.5+01:00", &c)
	if want := time.Date(2026, 11, 20, 8, 54, 59, 5e8, time.UTC); err != nil || !got.Equal(want) {
		t.Errorf("got %v (%v), want %v", got, err, want)
	}
}

// FuzzSQLLayout checks the fast path of the layout "2006-01-02 15:04:05"
// against the standard library, in UTC and in a zone with daylight saving.
func FuzzSQLLayout(f *testing.F) {
	for _, s := range []string{"2026-11-20 09:54:35", "2024-02-29 12:00:00", "2023-02-29 00:00:00", "0001-01-01 00:00:00",
		"9999-12-31 23:59:59", "1969-12-31 23:59:59", "2026-03-29 02:30:00", "2026-11-20 09:54:35.25", "2026-11-20T09:54:35", "2026-11-20 24:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, zone := range []string{"", "Europe/Berlin"} {
			loc := time.UTC
			if zone != "" {
				var err error
				if loc, err = time.LoadLocation(zone); err != nil {
					t.Fatal(err) // time/tzdata is linked in: cannot happen
				}
			}
			want, werr := time.ParseInLocation(sqlLayout, s, loc)
			tf, err := ParseTimeFormat(sqlLayout, zone)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tf.Parse(s)
			if (err != nil) != (werr != nil) {
				t.Fatalf("%q in %q: error %v, the standard library's %v", s, zone, err, werr)
			}
			if err == nil && !got.Equal(want) {
				t.Fatalf("%q in %q: got %v, want %v", s, zone, got, want)
			}
		}
	})
}

// BenchmarkParseTime: the time formats of the checkout exports.
func BenchmarkParseTime(b *testing.B) {
	for _, c := range []struct{ format, value string }{
		{"rfc3339", "2026-11-20T09:54:33.000Z"},
		{"rfc3339", "2026-11-20T09:54:41Z"},
		{sqlLayout, "2026-11-20 09:54:35"},
	} {
		b.Run(c.format+"/"+c.value, func(b *testing.B) {
			f, err := ParseTimeFormat(c.format, "")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := f.Parse(c.value); err != nil {
					b.Fatal(err)
				}
			}
		})
		// As a mapper reads a file in time order: the minute repeats.
		b.Run(c.format+"/"+c.value+"/same-minute", func(b *testing.B) {
			f, _ := ParseTimeFormat(c.format, "")
			var m minuteCache
			for b.Loop() {
				if _, err := f.parse(c.value, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
