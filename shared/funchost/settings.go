package funchost

import (
	"errors"
	"fmt"
	"strings"
)

// hasSettingRef reports whether s names an app setting as %NAME%.
func hasSettingRef(s string) bool {
	i := strings.IndexByte(s, '%')
	return i >= 0 && strings.IndexByte(s[i+1:], '%') > 0
}

// ResolveSettings replaces %NAME% in the bindings' queueName, schedule and
// route with the app setting NAME, read from getenv and else from defaults,
// as the Functions host does, then validates the results. A setting that
// neither gives is an error naming the function's file.
func ResolveSettings(fns []Function, getenv func(string) string, defaults map[string]string) ([]Function, error) {
	lookup := func(name string) (string, bool) {
		if getenv != nil {
			if v := getenv(name); v != "" {
				return v, true
			}
		}
		v, ok := defaults[name]
		return v, ok && v != ""
	}
	out := make([]Function, len(fns))
	var errs []error
	for i, fn := range fns {
		t := &fn.Trigger
		var err error
		for _, field := range []*string{&t.QueueName, &t.Schedule, &t.Route} {
			if *field, err = expand(*field, lookup); err != nil {
				break
			}
		}
		if err == nil {
			err = validate(fn)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("funchost: %s: %w", fn.Path, err))
		}
		out[i] = fn
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// expand replaces every %NAME% in s.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		start := strings.IndexByte(s, '%')
		if start < 0 {
			break
		}
		end := strings.IndexByte(s[start+1:], '%')
		if end < 0 {
			break
		}
		name := s[start+1 : start+1+end]
		v, ok := lookup(name)
		if !ok {
			return "", fmt.Errorf("app setting %s is not set", name)
		}
		b.WriteString(s[:start])
		b.WriteString(v)
		s = s[start+end+2:]
	}
	b.WriteString(s)
	return b.String(), nil
}
