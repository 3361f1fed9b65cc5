package money

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		f    Format
		cur  string
		want int64
		err  string
	}{
		{"1250", Minor, "EUR", 1250, ""},
		{"-1250", Minor, "EUR", -1250, ""},
		{"12.50", Minor, "EUR", 0, "not an integer number of minor units"},
		{"12.50", Decimal, "EUR", 1250, ""},
		{"12.5", Decimal, "EUR", 1250, ""},
		{"12", Decimal, "EUR", 1200, ""},
		{".5", Decimal, "USD", 50, ""},
		{"12.500", Decimal, "EUR", 1250, ""},
		{"13.000", Decimal, "JPY", 13, ""},
		{"1234.500", Decimal, "EUR", 123450, ""},
		{"12.5000", Decimal, "EUR", 1250, ""},
		{"12.345", Decimal, "EUR", 0, "has 3 decimals but EUR has 2"},
		{"4500", Decimal, "JPY", 4500, ""},
		{"4500.0", Decimal, "JPY", 4500, ""},
		{"4500.5", Decimal, "JPY", 0, "has 1 decimals but JPY has 0"},
		{"1.250", Decimal, "KWD", 1250, ""},
		{"-0.01", Decimal, "GBP", -1, ""},
		{"1,250.00", Decimal, "EUR", 0, "not a decimal number"},
		{"12.", Decimal, "EUR", 0, "no digits after the decimal point"},
		{"", Minor, "EUR", 0, "no digits"},
		{"9223372036854775807", Minor, "EUR", 9223372036854775807, ""},
		{"9223372036854775808", Minor, "EUR", 0, "out of range"},
		{"92233720368547758.08", Decimal, "EUR", 0, "out of range"},
		{"1e3", Decimal, "EUR", 0, "not a decimal number"},
	} {
		got, err := Parse(tt.in, tt.f, tt.cur)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q, %v, %s): %v, %v; want error %q", tt.in, tt.f, tt.cur, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q, %v, %s) = %d, %v; want %d", tt.in, tt.f, tt.cur, got, err, tt.want)
		}
	}
}

func TestText(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		cur  string
		want string
	}{
		{4599, "EUR", "45.99"}, {5, "EUR", "0.05"}, {-5, "EUR", "-0.05"}, {4500, "JPY", "4500"}, {1250, "KWD", "1.250"},
		{-9223372036854775808, "EUR", "-92233720368547758.08"},
	} {
		if got := Text(tt.n, tt.cur); got != tt.want {
			t.Errorf("Text(%d, %s) = %q, want %q", tt.n, tt.cur, got, tt.want)
		}
	}
	if got := String(4599, "EUR"); got != "45.99 EUR" {
		t.Errorf("String = %q", got)
	}
}

func TestNormalize(t *testing.T) {
	if c, err := Normalize("eur"); err != nil || c != "EUR" {
		t.Errorf("eur: %q %v", c, err)
	}
	for _, bad := range []string{"EURO", "E1R", "", "€"} {
		if _, err := Normalize(bad); err == nil {
			t.Errorf("%q must be rejected", bad)
		}
	}
}

// FuzzRoundTrip: whatever Parse accepts, Text writes back to the same
// amount; nothing goes through floating point.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"45.99", "-0.5", "4500", "1.250", "0", "00012.10"} {
		f.Add(s, "EUR")
		f.Add(s, "JPY")
		f.Add(s, "KWD")
	}
	f.Fuzz(func(t *testing.T, s, cur string) {
		n, err := Parse(s, Decimal, cur)
		if err != nil {
			return
		}
		back, err := Parse(Text(n, cur), Decimal, cur)
		if err != nil || back != n {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, n, Text(n, cur), back, err)
		}
	})
}

// TestAmbiguous: a text that may hold a thousands separator, for sources
// of text exports to refuse.
func TestAmbiguous(t *testing.T) {
	for _, c := range []struct {
		s, cur string
		bad    bool
	}{
		{"12.500", "EUR", true}, {"13.000", "JPY", true}, {"-2.340", "EUR", true},
		{"12.50", "EUR", false}, {"1234.500", "EUR", false}, {"12.5000", "EUR", false},
		{"1.250", "KWD", false}, {"4500", "JPY", false}, {"0.125", "USD", false}, {"0.120", "USD", true},
	} {
		if err := Ambiguous(c.s, c.cur); (err != nil) != c.bad {
			t.Errorf("Ambiguous(%q, %s) = %v, want ambiguous %v", c.s, c.cur, err, c.bad)
		}
	}
}
