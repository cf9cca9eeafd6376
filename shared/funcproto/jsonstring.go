package funcproto

import (
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// JSON strings are most of what an invocation is made of (a Service Bus
// body is a string inside a string), so they are written and read here
// rather than through encoding/json's reflection, which cost more than the
// rest of an invocation. Both produce exactly what encoding/json does
// (jsonstring_test.go compares them).

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, as encoding/json's Encoder
// with SetEscapeHTML(false) writes it: quote and backslash escaped, control
// characters as \b \f \n \r \t or \u00XX, invalid UTF-8 as \ufffd, and
// U+2028 and U+2029 escaped.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// unquoteJSON decodes raw, a JSON string literal, as json.Unmarshal into a
// string would. The common case, escapes of one character only and valid
// UTF-8, is decoded here; anything else (\u escapes, invalid UTF-8, a raw
// that is not a well-formed string) goes to json.Unmarshal.
func unquoteJSON(raw []byte) (string, error) {
	if s, ok := unquoteSimple(raw); ok {
		return s, nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// unquoteSimple decodes a JSON string literal whose escapes are all among
// \" \\ \/ \b \f \n \r \t and whose content is valid UTF-8 without control
// characters; ok is false for anything else.
func unquoteSimple(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", false
	}
	in := raw[1 : len(raw)-1]
	var out []byte // nil while nothing needed unescaping
	start := 0
	for i := 0; i < len(in); i++ {
		b := in[i]
		switch {
		case b < 0x20 || b == '"':
			return "", false // not a well-formed string
		case b >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				return "", false // json.Unmarshal replaces it with U+FFFD
			}
			i += size - 1
			continue
		case b != '\\':
			continue
		}
		if i+1 == len(in) {
			return "", false
		}
		var c byte
		switch in[i+1] {
		case '"', '\\', '/':
			c = in[i+1]
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		default:
			return "", false // \u escapes and malformed ones
		}
		if out == nil {
			out = make([]byte, 0, len(in))
		}
		out = append(append(out, in[start:i]...), c)
		i++
		start = i + 1
	}
	if out == nil {
		return string(in), true
	}
	return string(append(out, in[start:]...)), true
}

// eachMember calls fn with the key and the raw value of each member of
// obj, a valid JSON object (json.Valid), in document order. It reads the
// object's top level only, as json.Decoder's tokens would, without their
// cost.
func eachMember(obj []byte, fn func(key string, raw json.RawMessage)) error {
	i := skipSpace(obj, 0)
	if i == len(obj) || obj[i] != '{' {
		return errNotObject
	}
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] != '}' {
		end := stringEnd(obj, i)
		if end < 0 {
			return errNotObject
		}
		key, err := unquoteJSON(obj[i:end])
		if err != nil {
			return err
		}
		i = skipSpace(obj, end)
		if i == len(obj) || obj[i] != ':' {
			return errNotObject
		}
		i = skipSpace(obj, i+1)
		vend := valueEnd(obj, i)
		if vend <= i {
			return errNotObject
		}
		fn(key, obj[i:vend])
		i = skipSpace(obj, vend)
		if i < len(obj) && obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
	}
	return nil
}

var errNotObject = errors.New("not a JSON object")

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string literal starting at
// b[i], or -1.
func stringEnd(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index just past the JSON value starting at b[i]
// (valid JSON), or -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := stringEnd(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // a number, true, false or null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
			j++
		}
		return j
	}
}
