// Package money handles amounts: integer minor units per ISO 4217
// currency, parsed from text and written back without floating point.
package money

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Format says how an amount is written.
type Format uint8

const (
	// Minor is an integer in minor units (cents): "1250".
	Minor Format = iota
	// Decimal is a decimal in major units: "12.50" (EUR) is 1250,
	// "1250" (JPY) is 1250, "1.250" (KWD) is 1250.
	Decimal
)

// ParseFormat reads "minor" (the default) or "decimal".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "", "minor":
		return Minor, nil
	case "decimal":
		return Decimal, nil
	}
	return 0, fmt.Errorf("unknown amount format %q: use minor (integer cents) or decimal (\"12.50\")", s)
}

var errRange = errors.New("out of range")

// ParseAmount converts s to integer minor units of currency, never through
// floating point. A decimal with more fraction digits than the currency has
// is an error, not a rounding.
func Parse(s string, f Format, currency string) (int64, error) {
	neg := false
	body := s
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if f == Minor {
		n, err := parseUint(body)
		if err != nil {
			return 0, fmt.Errorf("amount %q is not an integer number of minor units: %w", s, err)
		}
		if neg {
			n = -n
		}
		return n, nil
	}
	exp := Exponent(currency)
	intPart, frac := body, ""
	if i := strings.IndexByte(body, '.'); i >= 0 {
		intPart, frac = body[:i], body[i+1:]
		if frac == "" {
			return 0, fmt.Errorf("amount %q: no digits after the decimal point", s)
		}
	}
	if intPart == "" {
		intPart = "0"
	}
	if len(frac) > exp {
		// Trailing zeros beyond the currency's precision lose nothing.
		trimmed := strings.TrimRight(frac[exp:], "0")
		if trimmed != "" {
			return 0, fmt.Errorf("amount %q has %d decimals but %s has %d", s, len(frac), currency, exp)
		}
		frac = frac[:exp]
	}
	n, err := parseUint(intPart)
	if err != nil {
		return 0, fmt.Errorf("amount %q is not a decimal number: %w", s, err)
	}
	var fr int64
	if frac != "" {
		fr, err = parseUint(frac)
		if err != nil {
			return 0, fmt.Errorf("amount %q is not a decimal number: %w", s, err)
		}
	}
	for k := len(frac); k < exp; k++ {
		fr *= 10
	}
	scale := int64(1)
	for k := 0; k < exp; k++ {
		scale *= 10
	}
	if n > (math.MaxInt64-fr)/scale {
		return 0, fmt.Errorf("amount %q: %w", s, errRange)
	}
	n = n*scale + fr
	if neg {
		n = -n
	}
	return n, nil
}

func parseUint(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("no digits")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("unexpected %q", c)
		}
		if n > (math.MaxInt64-int64(c-'0'))/10 {
			return 0, errRange
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// CurrencyExponent returns the number of minor-unit digits of an ISO 4217
// currency: 2 for most, 0 for JPY and KRW, 3 for KWD and BHD.
func Exponent(code string) int {
	switch code {
	case "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	case "CLF", "UYW":
		return 4
	}
	return 2
}

// NormalizeCurrency upper-cases a three-letter code and rejects anything else.
func Normalize(s string) (string, error) {
	if len(s) != 3 {
		return "", fmt.Errorf("currency %q is not a three-letter ISO 4217 code", s)
	}
	var b [3]byte
	upper := true
	for i := 0; i < 3; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c
		case c >= 'a' && c <= 'z':
			b[i] = c - 'a' + 'A'
			upper = false
		default:
			return "", fmt.Errorf("currency %q is not a three-letter ISO 4217 code", s)
		}
	}
	if upper {
		return s, nil
	}
	return string(b[:]), nil
}

// Text writes minor units in major units, as exports do: "45.99" (EUR),
// "4500" (JPY), "-1.250" (KWD).
func Text(n int64, currency string) string {
	exp := Exponent(currency)
	neg := n < 0
	u := uint64(n)
	if neg {
		u = uint64(-n)
	}
	s := fmt.Sprintf("%0*d", exp+1, u)
	if exp > 0 {
		s = s[:len(s)-exp] + "." + s[len(s)-exp:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// String writes an amount with its currency: "45.99 EUR".
func String(n int64, currency string) string {
	if currency == "" {
		return Text(n, currency)
	}
	return Text(n, currency) + " " + currency
}

// Ambiguous reports a decimal text that may hold a thousands separator
// instead of a decimal point: exactly three digits after the point, at most
// three before it, more decimals than the currency has, and only zeros
// past the currency's ("13.000" JPY, "12.500" EUR — 13000 and 12500 in a
// European export; "12.345" EUR Parse refuses anyway). Parse reads such a
// text as a decimal; a source of text exports (CSV) refuses it.
func Ambiguous(s, currency string) error {
	body := strings.TrimLeft(s, "+-")
	i := strings.IndexByte(body, '.')
	exp := Exponent(currency)
	if i < 0 || len(body)-i-1 != 3 || i > 3 || exp >= 3 || strings.TrimRight(body[i+1+exp:], "0") != "" {
		return nil // not the pattern, or Parse refuses it anyway
	}
	return fmt.Errorf("amount %q is ambiguous: 3 digits after the point, but %s has %d decimals — is the point a thousands separator? Export amounts without thousands separators, or with %s's decimals", s, currency, Exponent(currency), currency)
}
