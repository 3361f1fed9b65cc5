package config

import (
	"bufio"
	"bytes"
	"strings"
)

// misindented finds the first line of a YAML document whose indentation
// cannot be right, for a parse error to point at. The YAML parser names the
// line where the enclosing block starts ("line 32: did not find expected
// key"), often many lines above the stray one. It returns 0 when nothing
// looks wrong; it is a hint, consulted only after the parser has failed.
//
// A line is suspect when it is indented deeper than the line before,
// although that line opens nothing (it does not end with ':' or start a
// list item), or when it dedents to a column no enclosing mapping uses
// (only a list's dashes stand there, or nothing at all).
func misindented(src []byte) (line int, text string) {
	type level struct {
		col  int
		keys bool // mapping keys stand at this column, not only dashes
		item bool // the last line at this column was a list item
	}
	stack := []level{{col: 0, keys: true}}
	opens := true // the previous line may be followed by a deeper one
	scalar := -1  // inside a block scalar indented deeper than this
	flow := 0     // depth of an unclosed { or [ from earlier lines
	sc := bufio.NewScanner(bytes.NewReader(src))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		body := strings.TrimLeft(raw, " ")
		col := len(raw) - len(body)
		body = stripComment(body)
		if body == "" {
			continue
		}
		if scalar >= 0 {
			if col > scalar {
				continue
			}
			scalar = -1
		}
		if flow > 0 {
			flow += bracketDepth(body)
			continue
		}
		if body == "---" || body == "..." {
			stack, opens = []level{{col: 0, keys: true}}, true
			continue
		}
		item := body == "-" || strings.HasPrefix(body, "- ")
		top := stack[len(stack)-1]
		switch {
		case col > top.col:
			if !opens {
				return n, strings.TrimSpace(raw)
			}
			stack = append(stack, level{col: col, keys: !item, item: item})
		default:
			for len(stack) > 1 && stack[len(stack)-1].col > col {
				stack = stack[:len(stack)-1]
			}
			top := &stack[len(stack)-1]
			// A key where only dashes stand, or a first list item among
			// keys whose last one has a value.
			if top.col != col || (!item && !top.keys) || (item && !top.item && !opens) {
				return n, strings.TrimSpace(raw)
			}
			top.item = item
		}
		opens = strings.HasSuffix(body, ":") || body == "-"
		if item {
			// "- name: x": the item's keys stand two columns right of its dash.
			rest := strings.TrimLeft(body[1:], " ")
			if rest != "" {
				stack = append(stack, level{col: col + len(body) - len(rest), keys: true})
				opens = strings.HasSuffix(rest, ":")
			}
		}
		switch {
		case strings.HasSuffix(body, "|") || strings.HasSuffix(body, ">") ||
			strings.HasSuffix(body, "|-") || strings.HasSuffix(body, ">-") ||
			strings.HasSuffix(body, "|+") || strings.HasSuffix(body, ">+"):
			scalar, opens = col, false
		default:
			flow = bracketDepth(body)
			if flow < 0 {
				flow = 0
			}
		}
	}
	return 0, ""
}

// stripComment drops a trailing comment and the blanks before it; a '#'
// inside quotes, or not after a blank, is text.
func stripComment(s string) string {
	end := len(s)
	scanUnquoted(s, func(i int) bool {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			end = i
			return false
		}
		return true
	})
	return strings.TrimRight(s[:end], " \t")
}

// bracketDepth counts the flow brackets a line leaves open, outside quotes.
func bracketDepth(s string) int {
	d := 0
	scanUnquoted(s, func(i int) bool {
		switch s[i] {
		case '{', '[':
			d++
		case '}', ']':
			d--
		}
		return true
	})
	return d
}

// scanUnquoted calls f with the index of each byte of s outside single or
// double quotes (the quotes themselves excluded) until f returns false.
func scanUnquoted(s string, f func(i int) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case !f(i):
			return
		}
	}
}
