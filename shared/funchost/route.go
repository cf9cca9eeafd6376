package funchost

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// route is a parsed httpTrigger route template, such as
// "users/{id:guid}/status" or "files/{*path}". Literals match
// case-insensitively, as ASP.NET routing does.
type route []segment

type segment struct {
	literal    string
	param      string
	optional   bool // {name?}: only as the last segment
	catchAll   bool // {*name}: the rest of the path, possibly empty
	constraint *regexp.Regexp
}

// constraints are the inline route constraints the local host checks.
func constraint(name string) (*regexp.Regexp, bool) {
	expr, ok := map[string]string{
		"int":   `^-?[0-9]+$`,
		"long":  `^-?[0-9]+$`,
		"bool":  `^(?i:true|false)$`,
		"alpha": `^[A-Za-z]+$`,
		"guid":  `^[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}$`,
	}[strings.ToLower(name)]
	if !ok {
		return nil, false
	}
	return regexp.MustCompile(expr), true
}

// routeOf is the function's route: the function name when none is set.
func routeOf(fn Function) string {
	if fn.Trigger.Route != "" {
		return strings.Trim(fn.Trigger.Route, "/")
	}
	return fn.Name
}

func parseRoute(tmpl string) (route, error) {
	trimmed := strings.Trim(tmpl, "/")
	if trimmed == "" {
		return route{}, nil
	}
	parts := strings.Split(trimmed, "/")
	r := make(route, 0, len(parts))
	for i, p := range parts {
		last := i == len(parts)-1
		isParam := strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && strings.Count(p, "{") == 1 && strings.Count(p, "}") == 1
		if !isParam {
			if strings.ContainsAny(p, "{}") {
				return nil, fmt.Errorf("route %q: segment %q mixes text and parameters, which the local host does not support", tmpl, p)
			}
			r = append(r, segment{literal: p})
			continue
		}
		s, err := parseParam(tmpl, p)
		if err != nil {
			return nil, err
		}
		if (s.optional || s.catchAll) && !last {
			return nil, fmt.Errorf("route %q: %s must be the last segment", tmpl, p)
		}
		r = append(r, s)
	}
	return r, nil
}

func parseParam(tmpl, p string) (segment, error) {
	body := p[1 : len(p)-1]
	var s segment
	if rest, ok := strings.CutPrefix(body, "*"); ok {
		s.catchAll, body = true, rest
	}
	if rest, ok := strings.CutSuffix(body, "?"); ok {
		s.optional, body = true, rest
	}
	name, cons, hasCons := strings.Cut(body, ":")
	if name == "" || strings.ContainsAny(name, "=?*") {
		return segment{}, fmt.Errorf("route %q: bad parameter %q", tmpl, p)
	}
	s.param = name
	if hasCons {
		re, ok := constraint(cons)
		if !ok {
			return segment{}, fmt.Errorf("route %q: constraint %q is not supported by the local host (int, long, bool, alpha, guid)", tmpl, cons)
		}
		s.constraint = re
	}
	return s, nil
}

// match matches an escaped path (without /api/) and returns the route
// parameters, unescaped.
func (r route) match(escapedPath string) (map[string]string, bool) {
	parts := strings.Split(strings.Trim(escapedPath, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	params := map[string]string{}
	for i, s := range r {
		if s.catchAll {
			// A catch-all also matches nothing, as in ASP.NET Core.
			rest, err := url.PathUnescape(strings.Join(parts[min(i, len(parts)):], "/"))
			if err != nil {
				return nil, false
			}
			if rest != "" {
				params[s.param] = rest
			}
			return params, true
		}
		if i >= len(parts) {
			return params, s.optional && i == len(r)-1
		}
		v, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		switch {
		case s.param == "":
			if !strings.EqualFold(v, s.literal) {
				return nil, false
			}
		case s.constraint != nil && !s.constraint.MatchString(v):
			return nil, false
		default:
			params[s.param] = v
		}
	}
	return params, len(parts) == len(r)
}
