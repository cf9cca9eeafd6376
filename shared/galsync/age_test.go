package galsync_test

import (
	"strings"
	"testing"
	"time"

	"github.com/galsync/galsync/shared/galsync"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"90s": 90 * time.Second, "15m": 15 * time.Minute, "2h": 2 * time.Hour, "1h30m": 90 * time.Minute,
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "0d1s": time.Second,
	} {
		if got, err := galsync.ParseAge(in); err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0s", "0d", "-1h", "d", "3x", "1d-2d", "1d-2h", "7 d", "99999999999d",
		"2026-11-26T09:00:00Z"} {
		if got, err := galsync.ParseAge(bad); err == nil {
			t.Errorf("%q accepted as %s", bad, got)
		} else if !strings.Contains(err.Error(), "90s") && !strings.Contains(err.Error(), "days") {
			t.Errorf("%q: the error %q does not name the accepted forms", bad, err)
		}
	}
}

// Every command that takes a point back in time takes the same forms: an
// age (days included) or an RFC 3339 time.
func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"":                     {},
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.Add(-7 * 24 * time.Hour),
		"1d12h":                now.Add(-36 * time.Hour),
		"2026-11-20T08:00:00Z": time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC),
	} {
		if got, err := galsync.ParseSince(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%q: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-24h", "0s", "2026-11-20"} {
		if _, err := galsync.ParseSince(bad, now); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
			t.Errorf("%q: %v, want an error naming the forms", bad, err)
		}
	}
}

func TestAgeSince(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "2026-11-26T08:00:00Z": time.Hour} {
		if got, err := galsync.AgeSince(in, now); err != nil || got != want {
			t.Errorf("%q: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2026-11-26T09:00:00Z", "2027-01-01T00:00:00Z", "3x"} {
		if got, err := galsync.AgeSince(bad, now); err == nil {
			t.Errorf("%q accepted as %s", bad, got)
		}
	}
}
