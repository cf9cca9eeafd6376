package galsync

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// How operators write ages and points back in time, the same in every
// command and endpoint that takes one (galsync log --since, GET /api/log
// ?since=, galsync dlq --older-than and --newer-than).

// ageForms and sinceForms name the accepted forms in errors.
const (
	ageForms   = "an age such as 90s, 15m, 24h, 7d or 1d12h"
	sinceForms = "neither " + ageForms + " nor an RFC 3339 time such as 2026-11-26T09:00:00Z"
)

// maxAgeDays keeps an age within time.Duration (about 292 years).
const maxAgeDays = 100_000

var daysPrefix = regexp.MustCompile(`^([0-9]+)d(.*)$`)

// ParseAge reads a positive age: a Go duration (90s, 15m, 2h, 1h30m),
// optionally led by a number of days (7d, 1d12h).
func ParseAge(s string) (time.Duration, error) {
	var days time.Duration
	rest := s
	if m := daysPrefix.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n > maxAgeDays {
			return 0, fmt.Errorf("%q: at most %d days", s, maxAgeDays)
		}
		days, rest = time.Duration(n)*24*time.Hour, m[2]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil || d <= 0 {
			return 0, fmt.Errorf("%q is not %s", s, ageForms)
		}
	}
	if days+d <= 0 {
		return 0, fmt.Errorf("%q is not %s: it must be positive", s, ageForms)
	}
	return days + d, nil
}

// ParseSince reads a point back in time: an age back from now (ParseAge)
// or an RFC 3339 time. "" is none (the zero time).
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := ParseAge(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is %s", s, sinceForms)
	}
	return t, nil
}

// AgeSince is ParseSince as an age at now: how long ago the point it
// names was. A time after now is refused.
func AgeSince(s string, now time.Time) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty: want " + ageForms + ", or an RFC 3339 time")
	}
	t, err := ParseSince(s, now)
	if err != nil {
		return 0, err
	}
	if !t.Before(now) {
		return 0, fmt.Errorf("%q is not in the past", s)
	}
	return now.Sub(t), nil
}
