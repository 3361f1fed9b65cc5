package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// secrets remembers what must never appear in an error: the DSN as
// written and the password it (or PGPASSWORD) holds.
type secrets struct {
	dsn      string
	password string
}

var kvPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s]+)`)

// passwordOf extracts the password from a URL or key=value DSN, even a
// malformed one, so that it can be scrubbed from errors.
func passwordOf(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil && u.User != nil {
			p, _ := u.User.Password()
			return p
		}
		// A URL too broken to parse: take what is between user: and @.
		rest := dsn[strings.Index(dsn, "//")+2:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, p, ok := strings.Cut(rest[:at], ":"); ok {
				return p
			}
		}
		return ""
	}
	if m := kvPassword.FindStringSubmatch(dsn); m != nil {
		return strings.Trim(m[2], "'")
	}
	return ""
}

// Redact returns dsn with its password replaced by ***.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if u, err := url.Parse(dsn); err == nil {
			if u.User != nil {
				if _, ok := u.User.Password(); ok {
					u.User = url.UserPassword(u.User.Username(), "xxx")
					return strings.Replace(u.String(), ":xxx@", ":***@", 1)
				}
			}
			return u.String()
		}
		if p := passwordOf(dsn); p != "" {
			return strings.ReplaceAll(dsn, p, "***")
		}
		return dsn
	}
	return kvPassword.ReplaceAllString(dsn, "${1}***")
}

// scrub returns err with every trace of the secrets removed from its text.
// The result keeps err's identity for context cancellation and deadline
// checks only: unwrapping to the driver's error could bring the text back.
func (s *secrets) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := s.clean(err.Error())
	return &scrubbedError{msg: msg, cause: err}
}

func (s *secrets) clean(msg string) string {
	if s.dsn != "" {
		msg = strings.ReplaceAll(msg, s.dsn, Redact(s.dsn))
	}
	msg = kvPassword.ReplaceAllString(msg, "${1}***")
	if len(s.password) >= 3 {
		msg = strings.ReplaceAll(msg, s.password, "***")
		if esc := url.QueryEscape(s.password); esc != s.password {
			msg = strings.ReplaceAll(msg, esc, "***")
		}
	}
	return msg
}

type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }

// Is lets errors.Is see context cancellation and deadlines through the
// scrubbing, and nothing else.
func (e *scrubbedError) Is(target error) bool {
	for _, t := range []error{context.Canceled, context.DeadlineExceeded} {
		if target == t && errors.Is(e.cause, t) {
			return true
		}
	}
	return false
}

func errorf(s *secrets, format string, args ...any) error {
	return s.scrub(fmt.Errorf(format, args...))
}
